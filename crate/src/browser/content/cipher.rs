//! AES-256-GCM through WebCrypto, for sealed content ([`crate::content::sealed`]): the
//! browser's own AES runs far faster than any we could compile to wasm, and off our thread.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, Crypto, CryptoKey, SubtleCrypto};

use crate::browser::js::error::js_message;
use crate::content::sealed::{ShareKey, KEY_LEN};

/// Why WebCrypto could not seal or open a block.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CipherError {
    /// The block's tag does not match: the key is wrong (the bytes were verified before).
    #[error("the key does not open this content")]
    WrongKey,
    /// WebCrypto is missing or failed.
    #[error("WebCrypto failed: {0}")]
    Crypto(String),
}

fn failed(e: JsValue) -> CipherError {
    CipherError::Crypto(js_message(&e))
}

/// The page's (or worker's) `crypto`.
fn crypto() -> Result<Crypto, CipherError> {
    Reflect::get(&js_sys::global(), &"crypto".into())
        .ok()
        .and_then(|c| c.dyn_into::<Crypto>().ok())
        .ok_or_else(|| CipherError::Crypto("no crypto in this context".into()))
}

/// A fresh random key (from the browser's CSPRNG).
pub(crate) fn fresh_key() -> Result<ShareKey, CipherError> {
    let mut bytes = [0u8; KEY_LEN];
    crypto()?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(failed)?;
    Ok(ShareKey::from_bytes(bytes))
}

/// A share key imported into WebCrypto.
pub(crate) struct Cipher {
    subtle: SubtleCrypto,
    key: CryptoKey,
}

impl Cipher {
    /// Imports `key` (not extractable: it never leaves WebCrypto again).
    pub(crate) async fn new(key: &ShareKey) -> Result<Self, CipherError> {
        let subtle = crypto()?.subtle();
        let algorithm = Object::new();
        Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into()).map_err(failed)?;
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        let raw = Uint8Array::from(&key.bytes()[..]);
        let promise = subtle
            .import_key_with_object("raw", &raw, &algorithm, false, &usages)
            .map_err(failed)?;
        let key = JsFuture::from(promise)
            .await
            .map_err(failed)?
            .unchecked_into();
        Ok(Self { subtle, key })
    }

    /// `plain` encrypted, then its 16-byte tag.
    pub(crate) async fn seal(
        &self,
        nonce: &[u8; 12],
        associated_data: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let params = params(nonce, associated_data);
        let promise = self
            .subtle
            .encrypt_with_object_and_buffer_source(&params, &self.key, &Uint8Array::from(plain))
            .map_err(failed)?;
        let sealed = JsFuture::from(promise).await.map_err(failed)?;
        Ok(Uint8Array::new(&sealed).to_vec())
    }

    /// The plaintext of `block` (ciphertext, then tag); [`CipherError::WrongKey`] when the tag
    /// does not match.
    pub(crate) async fn open(
        &self,
        nonce: &[u8; 12],
        associated_data: &[u8],
        block: &[u8],
    ) -> Result<Uint8Array, CipherError> {
        let params = params(nonce, associated_data);
        let promise = self
            .subtle
            .decrypt_with_object_and_buffer_source(&params, &self.key, &Uint8Array::from(block))
            .map_err(failed)?;
        match JsFuture::from(promise).await {
            Ok(plain) => Ok(Uint8Array::new(&plain)),
            // WebCrypto's only answer to a tag that does not match.
            Err(e) if Reflect::get(&e, &"name".into()).ok() == Some("OperationError".into()) => {
                Err(CipherError::WrongKey)
            }
            Err(e) => Err(failed(e)),
        }
    }
}

fn params(nonce: &[u8; 12], associated_data: &[u8]) -> AesGcmParams {
    let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(&nonce[..]));
    params.set_additional_data(&Uint8Array::from(associated_data));
    params.set_tag_length(128);
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// WebCrypto computes the AES-256-GCM the format's native tests use: a block it seals opens
    /// with RustCrypto's, and one RustCrypto seals opens with it.
    #[wasm_bindgen_test]
    async fn webcrypto_and_rustcrypto_agree() {
        let key = fresh_key().expect("a key");
        let cipher = Cipher::new(&key).await.expect("imported");
        let rust = Aes256Gcm::new(key.bytes().into());
        let (nonce, aad, plain) = (
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2],
            b"aad",
            b"some plaintext",
        );
        let sealed = cipher.seal(&nonce, aad, plain).await.expect("sealed");
        let payload = |msg| Payload { msg, aad };
        let opened = rust.decrypt(Nonce::from_slice(&nonce), payload(&sealed[..]));
        assert_eq!(opened.expect("RustCrypto opens it"), plain);
        let by_rust = rust
            .encrypt(Nonce::from_slice(&nonce), payload(&plain[..]))
            .unwrap();
        assert_eq!(by_rust, sealed);
        let back = cipher
            .open(&nonce, aad, &by_rust)
            .await
            .expect("WebCrypto opens it");
        assert_eq!(back.to_vec(), plain);
    }

    #[wasm_bindgen_test]
    async fn another_key_is_a_wrong_key() {
        let cipher = Cipher::new(&fresh_key().unwrap()).await.unwrap();
        let other = Cipher::new(&fresh_key().unwrap()).await.unwrap();
        let nonce = [0; 12];
        let sealed = cipher.seal(&nonce, b"", b"secret").await.unwrap();
        assert!(matches!(
            other.open(&nonce, b"", &sealed).await,
            Err(CipherError::WrongKey)
        ));
    }
}
