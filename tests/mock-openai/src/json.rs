//! Ordered JSON: OpenAI writes its fields in a fixed order, and `serde_json::Value` (without
//! the workspace-wide `preserve_order` feature) sorts keys. [`J`] keeps insertion order.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::Value;

/// A JSON value whose objects keep their fields in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A non-negative integer.
    U(u64),
    /// A float.
    F(f64),
    /// A string.
    S(String),
    /// An array.
    A(Vec<J>),
    /// An object, fields in order.
    O(Vec<(&'static str, J)>),
    /// Any `serde_json` value (for echoing request fields).
    V(Value),
}

/// Builds a [`J::O`]: `obj! { "id" => id, "n" => 1u64 }`.
#[macro_export]
macro_rules! obj {
    ($($k:literal => $v:expr),* $(,)?) => {
        $crate::json::J::O(vec![$(($k, $crate::json::J::from($v))),*])
    };
}

impl J {
    /// An array of the items.
    pub fn arr(items: impl IntoIterator<Item = J>) -> J {
        J::A(items.into_iter().collect())
    }

    /// An empty object.
    pub fn empty() -> J {
        J::O(Vec::new())
    }

    /// Serializes to a compact JSON string.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|err| {
            format!("{{\"error\":\"mock-openai: serialization failed: {err}\"}}")
        })
    }

    /// A number of seconds: an integer when whole (`9`), else a float (`9.5`).
    pub fn seconds(x: f64) -> J {
        if x.fract() == 0.0 && (0.0..9.0e15).contains(&x) {
            J::U(x as u64)
        } else {
            J::F(x)
        }
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::U(n) => s.serialize_u64(*n),
            J::F(f) => s.serialize_f64(*f),
            J::S(text) => s.serialize_str(text),
            J::A(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::O(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            J::V(v) => v.serialize(s),
        }
    }
}

impl From<&str> for J {
    fn from(v: &str) -> Self {
        J::S(v.to_owned())
    }
}
impl From<String> for J {
    fn from(v: String) -> Self {
        J::S(v)
    }
}
impl From<&String> for J {
    fn from(v: &String) -> Self {
        J::S(v.clone())
    }
}
impl From<u64> for J {
    fn from(v: u64) -> Self {
        J::U(v)
    }
}
impl From<u32> for J {
    fn from(v: u32) -> Self {
        J::U(u64::from(v))
    }
}
impl From<usize> for J {
    fn from(v: usize) -> Self {
        J::U(v as u64)
    }
}
impl From<f64> for J {
    fn from(v: f64) -> Self {
        J::F(v)
    }
}
impl From<f32> for J {
    fn from(v: f32) -> Self {
        J::F(f64::from(v))
    }
}
impl From<bool> for J {
    fn from(v: bool) -> Self {
        J::Bool(v)
    }
}
impl From<Value> for J {
    fn from(v: Value) -> Self {
        J::V(v)
    }
}
impl From<Vec<J>> for J {
    fn from(v: Vec<J>) -> Self {
        J::A(v)
    }
}
impl<T: Into<J>> From<Option<T>> for J {
    fn from(v: Option<T>) -> Self {
        v.map_or(J::Null, Into::into)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_field_order() {
        let v = obj! { "z" => 1u64, "a" => "x", "m" => J::Null, "o" => Some(true) };
        assert_eq!(v.to_json_string(), r#"{"z":1,"a":"x","m":null,"o":true}"#);
    }

    #[test]
    fn seconds_are_integers_when_whole() {
        assert_eq!(J::seconds(9.0).to_json_string(), "9");
        assert_eq!(J::seconds(1.5).to_json_string(), "1.5");
    }

    #[test]
    fn base64() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(&[0xff, 0xfe]), "//4=");
    }
}
