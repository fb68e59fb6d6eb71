//! [`svg`]: a QR code of a text (a share link, for a phone's camera) as an SVG image, sans-IO.
//!
//! The symbol is encoded by `qrcodegen` at error correction level M (15 % of it may be damaged
//! or hidden), raised to a higher level where that fits in the same size. The SVG draws each run
//! of dark modules in a row as one rectangle of a single path, on a white square that keeps the
//! four-module quiet zone readers need; one module is one user unit, so the page scales it to
//! any size (`width: 100%`), and `shape-rendering="crispEdges"` keeps module edges sharp.

use qrcodegen::{QrCode, QrCodeEcc};
use std::fmt::Write;

/// The most bytes of a link (text in byte mode, as any URL with lower-case letters is) a QR
/// code holds at level M: version 40, 177 × 177 modules.
pub const MAX_LINK_BYTES: usize = 2331;

/// Light modules around the symbol that a reader needs to find it.
const QUIET_ZONE: i32 = 4;

/// Why a text has no QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrCodeError {
    /// The text does not fit in the largest QR code.
    #[error(
        "text too long for a QR code: {bytes} bytes, and a link fits in at most {MAX_LINK_BYTES}"
    )]
    TooLong {
        /// The text's length in UTF-8 bytes.
        bytes: usize,
    },
}

/// The QR code of `text` as a standalone SVG document, `viewBox` in modules (quiet zone
/// included), dark modules black on white.
pub fn svg(text: &str) -> Result<String, QrCodeError> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| QrCodeError::TooLong { bytes: text.len() })?;
    let side = code.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..code.size() {
        let mut x = 0;
        while x < code.size() {
            let run = (x..code.size())
                .take_while(|&end| code.get_module(end, y))
                .count() as i32;
            if run > 0 {
                // Writing to a String cannot fail.
                let _ = write!(
                    path,
                    "M{},{}h{run}v1h-{run}z",
                    x + QUIET_ZONE,
                    y + QUIET_ZONE
                );
            }
            x += run.max(1);
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::{svg, QrCodeError, MAX_LINK_BYTES};

    /// Pixels per module when the test draws an SVG.
    const SCALE: usize = 4;

    /// Draws the SVG `svg` made: its side from the `viewBox`, each `M x,y h run` of the path as
    /// a dark run; luma, `SCALE` pixels per module.
    fn draw(image: &str) -> (usize, Vec<u8>) {
        let side: usize = image
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .expect("the SVG has a viewBox")
            .parse()
            .expect("its side is a number");
        let mut dark = vec![false; side * side];
        let path = image
            .split(" d=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the SVG has a path");
        for step in path.split('M').filter(|s| !s.is_empty()) {
            let (at, rest) = step.split_once('h').expect("a run");
            let (x, y) = at.split_once(',').expect("x,y");
            let (x, y): (usize, usize) = (x.parse().expect("x"), y.parse().expect("y"));
            let run: usize = rest
                .split('v')
                .next()
                .expect("a length")
                .parse()
                .expect("run");
            assert_eq!(
                rest,
                format!("{run}v1h-{run}z"),
                "a one-module-high rectangle"
            );
            for dx in 0..run {
                dark[y * side + x + dx] = true;
            }
        }
        let pixels = side * SCALE;
        let luma = (0..pixels * pixels)
            .map(|i| {
                let (x, y) = (i % pixels / SCALE, i / pixels / SCALE);
                if dark[y * side + x] {
                    0
                } else {
                    255
                }
            })
            .collect();
        (pixels, luma)
    }

    /// What a QR reader that is not ours (`rqrr`) reads in the drawn SVG.
    fn read_back(image: &str) -> String {
        let (pixels, luma) = draw(image);
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
            luma[y * pixels + x]
        });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code found");
        grids[0].decode().expect("the QR code decodes").1
    }

    #[test]
    fn a_share_link_reads_back() {
        let link = format!(
            "https://peerfetch.example/#{}-3146505&k={}",
            "3f".repeat(32),
            "Ab9_-".repeat(8) + "xyz"
        );
        assert_eq!(read_back(&svg(&link).unwrap()), link);
    }

    #[test]
    fn a_public_link_with_a_file_name_in_any_script_reads_back() {
        let link =
            "http://127.0.0.1:8080/#ab-1&name=f\u{e9}te+\u{65e5}\u{672c}.txt&type=text%2Fplain";
        assert_eq!(read_back(&svg(link).unwrap()), link);
    }

    #[test]
    fn the_quiet_zone_is_left_white() {
        let (pixels, luma) = draw(&svg("peerfetch").unwrap());
        let border = 4 * SCALE;
        for y in 0..pixels {
            for x in 0..pixels {
                let inside = (border..pixels - border).contains(&x)
                    && (border..pixels - border).contains(&y);
                if !inside {
                    assert_eq!(luma[y * pixels + x], 255, "({x}, {y}) is white");
                }
            }
        }
    }

    #[test]
    fn the_longest_link_fits_and_one_byte_more_is_a_clear_error() {
        let longest = format!("https://x/#{}", "a".repeat(MAX_LINK_BYTES - 11));
        assert_eq!(longest.len(), MAX_LINK_BYTES);
        assert_eq!(read_back(&svg(&longest).unwrap()), longest);
        let error = svg(&format!("{longest}a")).unwrap_err();
        assert_eq!(
            error,
            QrCodeError::TooLong {
                bytes: MAX_LINK_BYTES + 1
            }
        );
        assert_eq!(
            error.to_string(),
            "text too long for a QR code: 2332 bytes, and a link fits in at most 2331"
        );
    }
}
