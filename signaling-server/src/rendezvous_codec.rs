//! The rendezvous protocol on a libp2p stream for `request_response`: one request read, one
//! response written (messages from [`peerfetch::wire::rendezvous_wire`]). The server only answers;
//! it asks other servers with rust-libp2p's own rendezvous client.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{request_response, StreamProtocol};
use peerfetch::{
    wire::length_prefixed::MessageDecoder,
    wire::rendezvous_wire::{Request, RequestError, Response},
};
use std::io;

/// Reads rendezvous requests (or why one is not valid) and writes responses.
#[derive(Debug, Clone, Copy, Default)]
pub struct RendezvousCodec;

fn inbound_only() -> io::Error {
    io::Error::other("the server's rendezvous protocol only answers")
}

impl request_response::Codec for RendezvousCodec {
    type Protocol = StreamProtocol;
    type Request = Result<Request, RequestError>;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut decoder = MessageDecoder::<Request>::default();
        let mut buffer = [0u8; 4096];
        loop {
            match decoder.next_message() {
                Ok(Some(request)) => return Ok(Ok(request)),
                Ok(None) => {}
                Err(error) => return Ok(Err(error)),
            }
            let read = io.read(&mut buffer).await?;
            if read == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            decoder.push(&buffer[..read]);
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(inbound_only())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Err(inbound_only())
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&response.encode()).await?;
        io.flush().await
    }
}
