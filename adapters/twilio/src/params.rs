//! Reading webhook parameters: first value of a name, and all of them as JSON for storage.

use serde_json::{Map, Value};

/// The first value of `name`, if present.
pub fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The first non-blank value among `names`, trimmed, in the order the names are given.
pub fn first_of<'a>(params: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .filter_map(|name| first(params, name))
        .map(str::trim)
        .find(|value| !value.is_empty())
}

/// Every parameter as a JSON object: a name that appears once maps to its string, a name that
/// repeats maps to an array of its values in the order received. Nothing is dropped.
pub fn to_json(params: &[(String, String)]) -> Value {
    let mut object = Map::new();
    for (name, value) in params {
        match object.get_mut(name) {
            None => {
                object.insert(name.clone(), Value::String(value.clone()));
            }
            Some(Value::Array(values)) => values.push(Value::String(value.clone())),
            Some(existing) => {
                let previous = existing.take();
                *existing = Value::Array(vec![previous, Value::String(value.clone())]);
            }
        }
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn repeated_names_become_arrays_and_single_ones_strings() {
        let params = pairs(&[("A", "1"), ("B", "x"), ("A", "2"), ("A", "3")]);
        assert_eq!(
            to_json(&params),
            serde_json::json!({"A": ["1", "2", "3"], "B": "x"})
        );
        assert_eq!(first(&params, "A"), Some("1"));
        assert_eq!(first_of(&params, &["C", "B"]), Some("x"));
    }
}
