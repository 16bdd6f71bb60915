//! Formatting and parsing helpers for the report generator.

/// The Roman numeral for `n` (1 to 3999), as chapter numbers are printed.
pub fn to_roman(mut n: u32) -> String {
    let symbols = [
        (1000, "M"),
        (500, "D"),
        (100, "C"),
        (50, "L"),
        (10, "X"),
        (5, "V"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, symbol) in symbols {
        while n >= value {
            out.push_str(symbol);
            n -= value;
        }
    }
    out
}

/// The `key=value` pairs of a `;`-separated settings line.
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split(';')
        .map(|pair| {
            let parts: Vec<&str> = pair.split('=').collect();
            let value = parts.get(1).copied().unwrap_or("");
            (parts[0].to_string(), value.to_string())
        })
        .collect()
}
