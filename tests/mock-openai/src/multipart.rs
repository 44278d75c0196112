//! A small `multipart/form-data` parser (RFC 7578), enough for OpenAI's upload endpoints.

use bytes::Bytes;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The `name` of its `content-disposition`.
    pub name: String,
    /// The `filename`, for file parts.
    pub filename: Option<String>,
    /// Its `content-type`, if given.
    pub content_type: Option<String>,
    /// The content.
    pub data: Bytes,
}

/// A parsed form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The parts, in order.
    pub parts: Vec<Part>,
}

impl Form {
    /// The first non-file field called `name`, as text.
    pub fn field(&self, name: &str) -> Option<String> {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
    }

    /// The first file part called `name`.
    pub fn file(&self, name: &str) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_some())
    }

    /// The file parts whose name is `name` or `name[]`.
    pub fn files<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Part> + 'a {
        self.parts.iter().filter(move |p| {
            p.filename.is_some()
                && (p.name == name || p.name.strip_suffix("[]").is_some_and(|n| n == name))
        })
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.is_empty()).then(|| v.to_owned())
    })
}

/// Parses a `multipart/form-data` body.
pub fn parse(content_type: &str, body: &Bytes) -> Result<Form, String> {
    let boundary = boundary(content_type).ok_or_else(|| {
        format!("expected a multipart/form-data body with a boundary, got content-type {content_type:?}")
    })?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut pos = find(body, &delimiter, 0).ok_or("the multipart body has no boundary line")?;
    let mut parts = Vec::new();
    loop {
        pos += delimiter.len();
        if body[pos..].starts_with(b"--") {
            break; // the close delimiter
        }
        // Rest of the boundary line (transport padding), then CRLF.
        let line_end = find(body, b"\r\n", pos).ok_or("a multipart boundary line has no CRLF")?;
        let headers_start = line_end + 2;
        let headers_end = if body[headers_start..].starts_with(b"\r\n") {
            (headers_start, headers_start + 2) // a part without headers
        } else {
            find(body, b"\r\n\r\n", headers_start)
                .map(|i| (i, i + 4))
                .ok_or("a multipart part has no end of headers")?
        };
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end.0]).into_owned();
        let content_start = headers_end.1;
        let mut next_delimiter = b"\r\n".to_vec();
        next_delimiter.extend_from_slice(&delimiter);
        let content_end = find(body, &next_delimiter, content_start)
            .ok_or("a multipart part is not closed by a boundary")?;
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data: body.slice(content_start..content_end),
        };
        for line in headers.split("\r\n") {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-disposition") {
                part.name = disposition_param(value, "name").unwrap_or_default();
                part.filename = disposition_param(value, "filename");
            } else if name.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(part);
        pos = content_end + 2;
    }
    Ok(Form { parts })
}

/// A parameter of a `content-disposition` value: `form-data; name="file"; filename="a.wav"`.
fn disposition_param(value: &str, key: &str) -> Option<String> {
    let mut rest = value;
    while let Some(semi) = rest.find(';') {
        rest = rest[semi + 1..].trim_start();
        let (k, after) = rest.split_once('=')?;
        let k = k.trim();
        let (v, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            (out, &quoted[end..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        if k.eq_ignore_ascii_case(key) {
            return Some(v);
        }
        rest = remaining;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_files() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".wav\"\r\n\
Content-Type: audio/wav\r\n\r\nRIFF\r\n--X\x00\xff\r\n--XyZ--\r\n",
        );
        let form = parse("multipart/form-data; boundary=\"XyZ\"", &body).expect("parses");
        assert_eq!(form.parts.len(), 2);
        assert_eq!(form.field("model").as_deref(), Some("whisper-1"));
        let file = form.file("file").expect("file");
        assert_eq!(file.filename.as_deref(), Some("a \"b\".wav"));
        assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
        assert_eq!(&file.data[..], b"RIFF\r\n--X\x00\xff");
        assert_eq!(form.files("file").count(), 1);
    }

    #[test]
    fn rejects_non_multipart() {
        assert!(parse("application/json", &Bytes::from_static(b"{}")).is_err());
        assert!(parse(
            "multipart/form-data; boundary=a",
            &Bytes::from_static(b"nope")
        )
        .is_err());
        assert_eq!(
            boundary("multipart/form-data; charset=utf-8; boundary=abc").as_deref(),
            Some("abc")
        );
    }
}
