//! SDP handling for libp2p WebRTC-direct that needs no browser: munging the offer so the ICE
//! credentials are the ones the server derives from the address, and reading our certificate's
//! fingerprint back out of the local description.

use libp2p_webrtc_utils::Fingerprint;

/// Rewrites the browser's offer so `ice-ufrag` and `ice-pwd` are both `ufrag`, as the libp2p
/// WebRTC-direct spec requires (the server learns them from the first STUN message).
pub fn munge_offer(offer: &str, ufrag: &str) -> String {
    let mut munged = String::with_capacity(offer.len());
    for line in offer.split("\r\n").filter(|line| !line.is_empty()) {
        if line.starts_with("a=ice-ufrag:") {
            munged.push_str(&format!("a=ice-ufrag:{ufrag}"));
        } else if line.starts_with("a=ice-pwd:") {
            munged.push_str(&format!("a=ice-pwd:{ufrag}"));
        } else {
            munged.push_str(line);
        }
        munged.push_str("\r\n");
    }
    munged
}

/// Why a description's fingerprint could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FingerprintError {
    /// No `a=fingerprint:sha-256` line.
    #[error("the local description has no sha-256 fingerprint")]
    Missing,
    /// The line is not 32 colon-separated hex bytes.
    #[error("the local description's fingerprint is malformed: {0}")]
    Malformed(String),
}

/// The SHA-256 certificate fingerprint (`a=fingerprint:sha-256 AA:BB:...`) of a description.
pub fn fingerprint(sdp: &str) -> Result<Fingerprint, FingerprintError> {
    let value = sdp
        .lines()
        .find_map(|line| line.trim().strip_prefix("a=fingerprint:sha-256 "))
        .ok_or(FingerprintError::Missing)?;
    let malformed = || FingerprintError::Malformed(value.to_owned());
    let bytes: Vec<u8> = value
        .trim()
        .split(':')
        .map(|hex| u8::from_str_radix(hex, 16).map_err(|_| malformed()))
        .collect::<Result<_, _>>()?;
    let digest: [u8; 32] = bytes.try_into().map_err(|_| malformed())?;
    Ok(Fingerprint::raw(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=ice-ufrag:abcd\r\na=ice-pwd:secret\r\na=fingerprint:sha-256 F5:19:69:DE:25:F4:D7:BA:FA:3D:46:46:70:A6:D8:65:1E:F1:00:C6:A2:ED:45:93:61:DC:92:D7:EC:F2:EB:37\r\na=setup:actpass\r\n\r\n";

    #[test]
    fn munging_replaces_both_ice_credentials_and_keeps_the_rest() {
        let munged = munge_offer(OFFER, "libp2p+webrtc+v1/xyz");
        assert!(munged.contains("a=ice-ufrag:libp2p+webrtc+v1/xyz\r\n"));
        assert!(munged.contains("a=ice-pwd:libp2p+webrtc+v1/xyz\r\n"));
        assert!(!munged.contains("secret"));
        assert!(munged.contains("a=setup:actpass\r\n"));
        assert!(!munged.contains("\r\n\r\n"), "no empty lines");
    }

    #[test]
    fn reads_the_sha256_fingerprint() {
        let fp = fingerprint(OFFER).expect("present");
        assert_eq!(fp.to_sdp_format(), "F5:19:69:DE:25:F4:D7:BA:FA:3D:46:46:70:A6:D8:65:1E:F1:00:C6:A2:ED:45:93:61:DC:92:D7:EC:F2:EB:37");
    }

    #[test]
    fn missing_or_malformed_fingerprint_is_an_error() {
        assert_eq!(fingerprint("v=0\r\n"), Err(FingerprintError::Missing));
        assert!(matches!(
            fingerprint("a=fingerprint:sha-256 ZZ:01\r\n"),
            Err(FingerprintError::Malformed(_))
        ));
        assert!(matches!(
            fingerprint("a=fingerprint:sha-256 01:02\r\n"),
            Err(FingerprintError::Malformed(_))
        ));
    }
}
