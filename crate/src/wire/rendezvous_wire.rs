//! The rendezvous protocol's messages (`/rendezvous/1.0.0`, libp2p spec): the requests a
//! rendezvous point reads (REGISTER, UNREGISTER, DISCOVER) and the responses it writes, each a
//! length-prefixed protobuf. The server federates discovery across servers, which the stock
//! rendezvous server cannot; tabs keep using rust-libp2p's rendezvous client, so these messages
//! must stay byte-compatible with it.

use bytes::Bytes;
use libp2p::{
    core::{PeerRecord, SignedEnvelope},
    rendezvous::{Cookie, ErrorCode, Namespace, Registration, Ttl},
};
use prost::Message as _;

use crate::wire::length_prefixed::{encode_frame, FrameError, FromFrame};

/// Longest request a rendezvous point reads. A real one is a few hundred bytes (a REGISTER
/// carries one signed peer record with a handful of addresses); a peer must not make the server
/// buffer a megabyte per stream.
pub const MAX_REQUEST_LEN: usize = 8 * 1024;

/// A request to a rendezvous point.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Add (or renew) the sender's registration under `namespace`.
    Register {
        /// The namespace to register under.
        namespace: Namespace,
        /// The sender's signed peer record (its addresses).
        record: Box<PeerRecord>,
        /// Seconds asked for; the point's default when absent.
        ttl: Option<Ttl>,
    },
    /// Remove the sender's registration under `namespace`.
    Unregister {
        /// The namespace to leave.
        namespace: Namespace,
    },
    /// List registrations under `namespace` (every namespace when absent).
    Discover {
        /// The namespace asked about.
        namespace: Option<Namespace>,
        /// Most registrations wanted.
        limit: Option<u64>,
    },
}

/// A rendezvous point's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Answer to REGISTER: the TTL granted, or why not.
    Registered(Result<Ttl, ErrorCode>),
    /// Answer to DISCOVER: registrations and a cookie naming the namespace, or why not.
    Discovered(Result<(Vec<Registration>, Cookie), ErrorCode>),
}

/// Why bytes from a peer are not a rendezvous request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The length prefix is malformed or exceeds [`MAX_REQUEST_LEN`].
    #[error("rendezvous stream: {0}")]
    Frame(#[from] FrameError),
    /// The protobuf does not decode.
    #[error("malformed rendezvous message: {0}")]
    Malformed(String),
    /// A field is missing or invalid; the code is what the protocol answers.
    #[error("invalid rendezvous request: {reason}")]
    Invalid {
        /// Which request it claimed to be.
        kind: RequestKind,
        /// The status to answer with.
        code: ErrorCode,
        /// What was wrong.
        reason: &'static str,
    },
}

/// The type a request claims, as far as it could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// REGISTER.
    Register,
    /// UNREGISTER.
    Unregister,
    /// DISCOVER.
    Discover,
    /// Anything else (a response, or an unknown type).
    Other,
}

impl RequestError {
    /// The protocol status that answers this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::Invalid { code, .. } => *code,
            _ => ErrorCode::InternalError,
        }
    }

    /// The response a rendezvous point sends for it: the failure status in the claimed
    /// request's answer type, or nothing when that is unknown (the stream is reset).
    pub fn answer(&self) -> Option<Response> {
        match self {
            RequestError::Invalid {
                kind: RequestKind::Register,
                code,
                ..
            } => Some(Response::Registered(Err(*code))),
            RequestError::Invalid {
                kind: RequestKind::Discover,
                code,
                ..
            } => Some(Response::Discovered(Err(*code))),
            _ => None,
        }
    }
}

impl FromFrame for Request {
    type Error = RequestError;
    const MAX_LEN: usize = MAX_REQUEST_LEN;

    fn from_frame(body: Bytes) -> Result<Self, RequestError> {
        let wire = Wire::decode(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
        let invalid = |kind, code, reason| RequestError::Invalid { kind, code, reason };
        let namespace = |kind, ns: Option<String>| match ns {
            Some(ns) => Namespace::new(ns)
                .map(Some)
                .map_err(|_| invalid(kind, ErrorCode::InvalidNamespace, "namespace too long")),
            None => Ok(None),
        };
        let missing_namespace =
            |kind| invalid(kind, ErrorCode::InvalidNamespace, "missing namespace");
        match wire.kind.and_then(|k| WireType::try_from(k).ok()) {
            Some(WireType::Register) => {
                let register = wire.register.unwrap_or_default();
                let kind = RequestKind::Register;
                let namespace = namespace(kind, register.ns)?.ok_or(missing_namespace(kind))?;
                let record = register
                    .signed_peer_record
                    .and_then(|bytes| SignedEnvelope::from_protobuf_encoding(&bytes).ok())
                    .and_then(|envelope| PeerRecord::from_signed_envelope(envelope).ok())
                    .ok_or(invalid(
                        kind,
                        ErrorCode::InvalidSignedPeerRecord,
                        "missing or invalid signed peer record",
                    ))?;
                Ok(Request::Register {
                    namespace,
                    record: Box::new(record),
                    ttl: register.ttl,
                })
            }
            Some(WireType::Unregister) => {
                let unregister = wire.unregister.unwrap_or_default();
                let kind = RequestKind::Unregister;
                let namespace = namespace(kind, unregister.ns)?.ok_or(missing_namespace(kind))?;
                Ok(Request::Unregister { namespace })
            }
            Some(WireType::Discover) => {
                let discover = wire.discover.unwrap_or_default();
                Ok(Request::Discover {
                    namespace: namespace(RequestKind::Discover, discover.ns)?,
                    limit: discover.limit,
                })
            }
            Some(WireType::RegisterResponse | WireType::DiscoverResponse) => Err(invalid(
                RequestKind::Other,
                ErrorCode::InternalError,
                "a response sent as a request",
            )),
            None => Err(invalid(
                RequestKind::Other,
                ErrorCode::InternalError,
                "missing or unknown message type",
            )),
        }
    }
}

impl Request {
    /// The length-prefixed wire form (what a client sends).
    pub fn encode(&self) -> Bytes {
        let wire = match self {
            Request::Register {
                namespace,
                record,
                ttl,
            } => Wire {
                kind: Some(WireType::Register as i32),
                register: Some(WireRegister {
                    ns: Some(namespace.to_string()),
                    signed_peer_record: Some(record.to_signed_envelope().into_protobuf_encoding()),
                    ttl: *ttl,
                }),
                ..Wire::default()
            },
            Request::Unregister { namespace } => Wire {
                kind: Some(WireType::Unregister as i32),
                unregister: Some(WireUnregister {
                    ns: Some(namespace.to_string()),
                    id: None,
                }),
                ..Wire::default()
            },
            Request::Discover { namespace, limit } => Wire {
                kind: Some(WireType::Discover as i32),
                discover: Some(WireDiscover {
                    ns: namespace.as_ref().map(ToString::to_string),
                    limit: *limit,
                    cookie: None,
                }),
                ..Wire::default()
            },
        };
        encode_frame(&wire)
    }
}

impl Response {
    /// The length-prefixed wire form (what the point sends).
    pub fn encode(&self) -> Bytes {
        let wire = match self {
            Response::Registered(result) => Wire {
                kind: Some(WireType::RegisterResponse as i32),
                register_response: Some(WireRegisterResponse {
                    status: Some(status(result.as_ref().err())),
                    status_text: None,
                    ttl: result.as_ref().ok().copied(),
                }),
                ..Wire::default()
            },
            Response::Discovered(result) => {
                let (registrations, cookie) = match result {
                    Ok((registrations, cookie)) => (
                        registrations.iter().map(wire_registration).collect(),
                        Some(cookie.clone().into_wire_encoding()),
                    ),
                    Err(_) => (Vec::new(), None),
                };
                Wire {
                    kind: Some(WireType::DiscoverResponse as i32),
                    discover_response: Some(WireDiscoverResponse {
                        registrations,
                        cookie,
                        status: Some(status(result.as_ref().err())),
                        status_text: None,
                    }),
                    ..Wire::default()
                }
            }
        };
        encode_frame(&wire)
    }
}

fn wire_registration(registration: &Registration) -> WireRegister {
    WireRegister {
        ns: Some(registration.namespace.to_string()),
        signed_peer_record: Some(
            registration
                .record
                .to_signed_envelope()
                .into_protobuf_encoding(),
        ),
        ttl: Some(registration.ttl),
    }
}

/// The spec's `ResponseStatus` number for an outcome.
fn status(error: Option<&ErrorCode>) -> i32 {
    match error {
        None => 0,
        Some(ErrorCode::InvalidNamespace) => 100,
        Some(ErrorCode::InvalidSignedPeerRecord) => 101,
        Some(ErrorCode::InvalidTtl) => 102,
        Some(ErrorCode::InvalidCookie) => 103,
        Some(ErrorCode::NotAuthorized) => 200,
        Some(ErrorCode::InternalError) => 300,
        Some(ErrorCode::Unavailable) => 400,
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct Wire {
    #[prost(enumeration = "WireType", optional, tag = "1")]
    kind: Option<i32>,
    #[prost(message, optional, tag = "2")]
    register: Option<WireRegister>,
    #[prost(message, optional, tag = "3")]
    register_response: Option<WireRegisterResponse>,
    #[prost(message, optional, tag = "4")]
    unregister: Option<WireUnregister>,
    #[prost(message, optional, tag = "5")]
    discover: Option<WireDiscover>,
    #[prost(message, optional, tag = "6")]
    discover_response: Option<WireDiscoverResponse>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum WireType {
    Register = 0,
    RegisterResponse = 1,
    Unregister = 2,
    Discover = 3,
    DiscoverResponse = 4,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRegister {
    #[prost(string, optional, tag = "1")]
    ns: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    signed_peer_record: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "3")]
    ttl: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRegisterResponse {
    #[prost(int32, optional, tag = "1")]
    status: Option<i32>,
    #[prost(string, optional, tag = "2")]
    status_text: Option<String>,
    #[prost(uint64, optional, tag = "3")]
    ttl: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireUnregister {
    #[prost(string, optional, tag = "1")]
    ns: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    id: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireDiscover {
    #[prost(string, optional, tag = "1")]
    ns: Option<String>,
    #[prost(uint64, optional, tag = "2")]
    limit: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "3")]
    cookie: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireDiscoverResponse {
    #[prost(message, repeated, tag = "1")]
    registrations: Vec<WireRegister>,
    #[prost(bytes = "vec", optional, tag = "2")]
    cookie: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "3")]
    status: Option<i32>,
    #[prost(string, optional, tag = "4")]
    status_text: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::length_prefixed::MessageDecoder;
    use libp2p::identity::Keypair;

    fn decode(bytes: &[u8]) -> Result<Option<Request>, RequestError> {
        let mut decoder = MessageDecoder::<Request>::default();
        decoder.push(bytes);
        decoder.next_message()
    }

    fn record() -> PeerRecord {
        let addr = "/ip4/10.0.0.1/tcp/4001/ws".parse().expect("valid");
        PeerRecord::new(&Keypair::generate_ed25519(), vec![addr]).expect("signs")
    }

    #[test]
    fn requests_round_trip() {
        let requests = [
            Request::Register {
                namespace: Namespace::from_static("swarm"),
                record: Box::new(record()),
                ttl: Some(120),
            },
            Request::Unregister {
                namespace: Namespace::from_static("swarm/c/ab"),
            },
            Request::Discover {
                namespace: Some(Namespace::from_static("swarm")),
                limit: Some(100),
            },
            Request::Discover {
                namespace: None,
                limit: None,
            },
        ];
        for request in requests {
            assert_eq!(decode(&request.encode()), Ok(Some(request)));
        }
    }

    #[test]
    fn bad_requests_name_the_protocol_status() {
        let register = |ns: Option<String>, record: Option<Vec<u8>>| Wire {
            kind: Some(WireType::Register as i32),
            register: Some(WireRegister {
                ns,
                signed_peer_record: record,
                ttl: None,
            }),
            ..Wire::default()
        };
        let code = |wire: Wire| decode(&encode_frame(&wire)).expect_err("invalid").code();
        assert_eq!(
            code(register(None, Some(vec![1]))),
            ErrorCode::InvalidNamespace
        );
        assert_eq!(
            code(register(Some("x".repeat(256)), None)),
            ErrorCode::InvalidNamespace
        );
        assert_eq!(
            code(register(Some("swarm".into()), Some(vec![1, 2, 3]))),
            ErrorCode::InvalidSignedPeerRecord
        );
        assert_eq!(code(Wire::default()), ErrorCode::InternalError);
        let unanswerable = decode(&encode_frame(&Wire::default())).expect_err("invalid");
        assert_eq!(unanswerable.answer(), None);
        let bad_discover = Wire {
            kind: Some(WireType::Discover as i32),
            discover: Some(WireDiscover {
                ns: Some("x".repeat(300)),
                ..WireDiscover::default()
            }),
            ..Wire::default()
        };
        let error = decode(&encode_frame(&bad_discover)).expect_err("invalid");
        assert_eq!(
            error.answer(),
            Some(Response::Discovered(Err(ErrorCode::InvalidNamespace)))
        );
        assert!(matches!(
            decode(&[0x0a, 0xff]),
            Err(RequestError::Malformed(_)) | Ok(None)
        ));
        let mut oversized = Vec::new();
        prost::encoding::encode_varint((MAX_REQUEST_LEN + 1) as u64, &mut oversized);
        assert!(matches!(
            decode(&oversized),
            Err(RequestError::Frame(FrameError::TooLarge { .. }))
        ));
    }

    #[test]
    fn responses_carry_status_cookie_and_records() {
        let registration = Registration {
            namespace: Namespace::from_static("swarm"),
            record: record(),
            ttl: 60,
        };
        let cookie = Cookie::for_namespace(Namespace::from_static("swarm"));
        let bytes = Response::Discovered(Ok((vec![registration.clone()], cookie.clone()))).encode();
        let mut body = &bytes[..];
        let wire = Wire::decode_length_delimited(&mut body).expect("decodes");
        let answer = wire.discover_response.expect("discover response");
        assert_eq!(answer.status, Some(0));
        assert_eq!(answer.cookie, Some(cookie.into_wire_encoding()));
        assert_eq!(answer.registrations, vec![wire_registration(&registration)]);
        let bytes = Response::Registered(Err(ErrorCode::Unavailable)).encode();
        let mut body = &bytes[..];
        let wire = Wire::decode_length_delimited(&mut body).expect("decodes");
        assert_eq!(wire.register_response.and_then(|r| r.status), Some(400));
    }
}
