use report::parse_pairs;

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

#[test]
fn pairs_trimmed_and_empty_skipped() {
    assert_eq!(
        parse_pairs(" a = 1 ;; b=2; "),
        vec![pair("a", "1"), pair("b", "2")]
    );
}

#[test]
fn pairs_value_keeps_equals() {
    assert_eq!(
        parse_pairs("url=https://x.test/?q=1"),
        vec![pair("url", "https://x.test/?q=1")]
    );
}
