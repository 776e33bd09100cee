//! An ordered JSON writer. Binance clients (and our adapter's tests) read fields by name,
//! but humans and golden tests compare key order, and `serde_json::Map` sorts keys, so wire
//! objects are written field by field in Binance's order. Decimals go out as strings.

use rust_decimal::Decimal;

/// Builds one JSON object in insertion order.
#[derive(Default)]
pub(crate) struct JsonObj {
    buf: String,
}

fn push_str_escaped(buf: &mut String, s: &str) {
    // Wire strings (symbols, enums, decimals, ids) almost never need escaping: copy them
    // straight; anything else goes through serde_json, which escapes exactly as JSON says.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.push('"');
        buf.push_str(s);
        buf.push('"');
    } else {
        buf.push_str(&serde_json::Value::String(s.to_owned()).to_string());
    }
}

impl JsonObj {
    pub(crate) fn new() -> Self {
        JsonObj {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, k: &str) -> &mut String {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_str_escaped(&mut self.buf, k);
        self.buf.push(':');
        &mut self.buf
    }

    pub(crate) fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let b = self.key(k);
        push_str_escaped(b, v);
        self
    }

    /// A decimal written as a string with exactly `dp` decimals (Binance pads with zeros).
    pub(crate) fn dec(&mut self, k: &str, v: Decimal, dp: u32) -> &mut Self {
        let s = fmt_dec(v, dp);
        self.str(k, &s)
    }

    pub(crate) fn int(&mut self, k: &str, v: i64) -> &mut Self {
        let b = self.key(k);
        b.push_str(&v.to_string());
        self
    }

    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        let b = self.key(k);
        b.push_str(if v { "true" } else { "false" });
        self
    }

    pub(crate) fn null(&mut self, k: &str) -> &mut Self {
        self.key(k).push_str("null");
        self
    }

    /// Inserts already-rendered JSON (an object or array) as the value of `k`.
    pub(crate) fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k).push_str(json);
        self
    }

    pub(crate) fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.buf);
        out.push('}');
        out
    }
}

/// Joins rendered JSON values into an array.
pub(crate) fn array<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// Formats `v` with exactly `dp` decimals, rounding half away from zero if it has more.
pub(crate) fn fmt_dec(v: Decimal, dp: u32) -> String {
    let mut r = v.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(dp);
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimals_are_padded_to_the_requested_precision() {
        assert_eq!(fmt_dec(dec!(110001), 2), "110001.00");
        assert_eq!(fmt_dec(dec!(0.2), 3), "0.200");
        assert_eq!(fmt_dec(dec!(0), 5), "0.00000");
        assert_eq!(fmt_dec(dec!(-1.5), 0), "-2");
    }

    #[test]
    fn objects_keep_insertion_order_and_escape_strings() {
        let mut o = JsonObj::new();
        o.str("z", "a\"b\\\n")
            .int("a", -5)
            .bool("m", true)
            .dec("p", dec!(1.5), 2);
        assert_eq!(o.finish(), r#"{"z":"a\"b\\\n","a":-5,"m":true,"p":"1.50"}"#);
        assert_eq!(array(vec!["1".into(), "{}".into()]), "[1,{}]");
        assert_eq!(JsonObj::new().finish(), "{}");
    }

    proptest::proptest! {
        #[test]
        fn padding_keeps_the_value_and_shows_exactly_dp_decimals(
            mantissa in -1_000_000_000_000i64..1_000_000_000_000,
            scale in 0u32..10,
            dp in 0u32..10,
        ) {
            let v = Decimal::new(mantissa, scale);
            let s = fmt_dec(v, dp);
            let decimals = s.split('.').nth(1).map_or(0, str::len) as u32;
            proptest::prop_assert_eq!(decimals, dp);
            let back: Decimal = s.parse().unwrap();
            let expected = v.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            proptest::prop_assert_eq!(back, expected);
        }
    }
}
