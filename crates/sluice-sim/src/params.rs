//! Request parameters as Binance reads them: from the query string, the form body, or both
//! (the query wins when a name appears in both). A name repeated inside one source is
//! `-1101`. Typed getters turn a bad value into the exact Binance error naming the field.

use std::collections::HashMap;

use crate::error::ApiError;

/// Decoded parameters of one request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    map: HashMap<String, String>,
}

fn decode_into(raw: &str, out: &mut HashMap<String, String>) -> Result<(), ApiError> {
    let mut seen: HashMap<String, ()> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if seen.insert(k.to_string(), ()).is_some() {
            return Err(ApiError::duplicate_param());
        }
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    Ok(())
}

impl Params {
    /// Parses the raw query and body; query values shadow body values of the same name.
    pub(crate) fn parse(query: &str, body: &str) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        decode_into(query, &mut map)?;
        decode_into(body, &mut map)?;
        Ok(Params { map })
    }

    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        Params {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The raw value, `None` when absent; an empty value counts as absent, as on Binance.
    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub(crate) fn req(&self, name: &str) -> Result<&str, ApiError> {
        self.opt(name).ok_or_else(|| ApiError::mandatory(name))
    }

    /// An optional integer; non-digits are `-1100`, overflow is `-1102`.
    pub(crate) fn opt_i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.opt(name) else {
            return Ok(None);
        };
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::illegal_chars(name));
        }
        raw.parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::mandatory(name))
    }

    pub(crate) fn req_i64(&self, name: &str) -> Result<i64, ApiError> {
        self.opt_i64(name)?.ok_or_else(|| ApiError::mandatory(name))
    }

    /// An optional `"true"`/`"false"` flag (case-insensitive, as Binance accepts).
    pub(crate) fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::mandatory(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_win_over_body_values() {
        let p = Params::parse("symbol=BTCUSDT&side=BUY", "side=SELL&quantity=1").unwrap();
        assert_eq!(p.opt("side"), Some("BUY"));
        assert_eq!(p.opt("quantity"), Some("1"));
    }

    #[test]
    fn a_name_repeated_in_one_source_is_minus_1101() {
        let err = Params::parse("a=1&a=2", "").unwrap_err();
        assert_eq!(err.code, -1101);
    }

    #[test]
    fn malformed_numbers_name_the_field() {
        let p = Params::parse("orderId=12x&flag=yes", "").unwrap();
        assert_eq!(p.opt_i64("orderId").unwrap_err().code, -1100);
        assert_eq!(p.opt_bool("flag").unwrap_err().code, -1102);
        assert_eq!(
            p.req("symbol").unwrap_err().msg,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        );
    }
}
