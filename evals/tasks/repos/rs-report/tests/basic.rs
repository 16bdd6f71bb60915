use report::{parse_pairs, to_roman};

#[test]
fn roman_additive() {
    assert_eq!(to_roman(3), "III");
    assert_eq!(to_roman(2023), "MMXXIII");
}

#[test]
fn pairs_simple() {
    let pairs = parse_pairs("a=1;b=2");
    assert_eq!(
        pairs,
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string())
        ]
    );
}
