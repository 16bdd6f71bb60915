use report::to_roman;

#[test]
fn roman_subtractive_pairs() {
    assert_eq!(to_roman(4), "IV");
    assert_eq!(to_roman(9), "IX");
    assert_eq!(to_roman(1994), "MCMXCIV");
}

#[test]
fn roman_largest() {
    assert_eq!(to_roman(3888), "MMMDCCCLXXXVIII");
}
