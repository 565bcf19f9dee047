//! `--format json`: a row as one JSON object, for scripts and notebooks.
//!
//! The object has the row's columns as keys, in header order, and its cells as values: an empty
//! cell is `null`, `true`/`false` are booleans, a cell that is a JSON number (every finite
//! number lojasim writes, e.g. `1e-6`) is that number with the same digits, so it parses to the
//! same f64, and anything else (names, lists, `inf`) is a string.

/// The JSON object of `cells` under `header` (one line, no trailing newline).
pub fn object(header: &[&str], cells: &[String]) -> String {
    assert_eq!(header.len(), cells.len(), "a row aligned with its header");
    let fields: Vec<String> = header
        .iter()
        .zip(cells)
        .map(|(name, cell)| format!("{}:{}", string(name), value(cell)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn string(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serialises")
}

fn value(cell: &str) -> String {
    match cell {
        "" => "null".to_string(),
        "true" | "false" => cell.to_string(),
        _ if serde_json::from_str::<serde_json::Number>(cell).is_ok() => cell.to_string(),
        _ => string(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_typed_values_in_header_order() {
        let header = ["name", "p", "small", "missing", "met", "list", "inf"];
        let cells = ["ring \"x\"", "0.25", "1e-6", "", "true", "0.1;0.2", "inf"].map(String::from);
        let text = object(&header, &cells);
        assert_eq!(
            text,
            r#"{"name":"ring \"x\"","p":0.25,"small":1e-6,"missing":null,"met":true,"list":"0.1;0.2","inf":"inf"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["small"].as_f64(), Some(1e-6));
        assert!(parsed["missing"].is_null());
    }

    #[test]
    fn numbers_keep_every_bit() {
        for x in [0.1, 1.0 / 3.0, 9.258022279867218e-32, 6.02e23] {
            let cell = crate::report::fmt_f64(x);
            let parsed: serde_json::Value = serde_json::from_str(&object(&["x"], &[cell])).unwrap();
            assert_eq!(parsed["x"].as_f64().unwrap().to_bits(), x.to_bits());
        }
    }
}
