//! One-line error messages that keep every cause.

use libp2p::swarm::DialError;

/// An error and its sources joined with `": "`, for messages a person reads; an error that says
/// nothing or only what the one before it said (a wrapper showing its source) is left out.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && said.last() != Some(&text) {
            said.push(text);
        }
        next = cause.source();
    }
    said.join(": ")
}

/// A dial failure in words. For a transport failure, each address tried with its own error:
/// libp2p's text for it repeats each transport error once per wrapper.
pub fn dial_error_text(error: &DialError) -> String {
    match error {
        DialError::Transport(errors) => errors
            .iter()
            .map(|(addr, error)| format!("{addr}: {}", error_chain(error)))
            .collect::<Vec<_>>()
            .join("; "),
        other => error_chain(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn joins_every_cause() {
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&error), "outer: inner");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct ShowsItsSource(#[source] std::io::Error);

    #[test]
    fn a_cause_already_said_is_said_once() {
        let error = Outer(std::io::Error::other(ShowsItsSource(
            std::io::Error::other("no path"),
        )));
        assert_eq!(error_chain(&error), "outer: no path");
    }

    #[test]
    fn a_transport_failure_names_each_address_and_its_error_once() {
        use libp2p::core::transport::TransportError;
        let addr: libp2p::Multiaddr = "/ip4/10.0.0.1/udp/1/webrtc-direct".parse().unwrap();
        let inner = std::io::Error::other(ShowsItsSource(std::io::Error::other("no path")));
        let error = DialError::Transport(vec![(addr, TransportError::Other(inner))]);
        assert_eq!(
            dial_error_text(&error),
            "/ip4/10.0.0.1/udp/1/webrtc-direct: no path"
        );
    }
}
