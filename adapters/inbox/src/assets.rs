//! The page's files, embedded at compile time, each with its content type and a fingerprint
//! of its bytes (the `ETag`, and the `?v=` that lets browsers keep an asset for a year).

use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The name under `/inbox/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// Every file of the page. `index.html` names the others by their full path (`/inbox/app.js`),
/// to which `?v=<fingerprint>` is added when it is served.
pub static ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../web/icon.svg"),
    },
];

/// The file called `name`, with `index.html` pointing at the current versions of the others.
pub fn find(name: &str) -> Option<Served> {
    let asset = ASSETS.iter().find(|a| a.name == name)?;
    if asset.name == "index.html" {
        let page = PAGE.get_or_init(|| {
            let mut body = asset.body.to_string();
            for other in ASSETS.iter().filter(|a| a.name != "index.html") {
                body = body.replace(
                    &format!("\"/inbox/{}\"", other.name),
                    &format!("\"/inbox/{}?v={}\"", other.name, fingerprint(other.body)),
                );
            }
            let tag = fingerprint(&body);
            (body, tag)
        });
        return Some(Served {
            content_type: asset.content_type,
            body: &page.0,
            etag: &page.1,
            versioned: false,
        });
    }
    let tags = TAGS.get_or_init(|| ASSETS.iter().map(|a| fingerprint(a.body)).collect());
    let at = ASSETS.iter().position(|a| a.name == name)?;
    Some(Served {
        content_type: asset.content_type,
        body: asset.body,
        etag: &tags[at],
        versioned: true,
    })
}

/// A file ready to send.
pub struct Served {
    pub content_type: &'static str,
    pub body: &'static str,
    pub etag: &'static str,
    /// Named with its fingerprint by the page, so it may be cached for good.
    pub versioned: bool,
}

static PAGE: OnceLock<(String, String)> = OnceLock::new();
static TAGS: OnceLock<Vec<String>> = OnceLock::new();

/// 64-bit FNV-1a of `text`, as 16 hex digits: stable across builds and platforms.
fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
