//! The encoding against `tiktoken-rs` (a port of OpenAI's `tiktoken`):
//! same tokens for every text tried, same bytes for every rank.

use std::sync::OnceLock;

use fakegpt::Message;
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;

use super::*;

fn ours() -> &'static Encoding {
    static OURS: OnceLock<Encoding> = OnceLock::new();
    OURS.get_or_init(|| Encoding::cl100k_base().expect("the embedded encoding loads"))
}

fn reference() -> &'static CoreBPE {
    static REFERENCE: OnceLock<CoreBPE> = OnceLock::new();
    REFERENCE.get_or_init(|| tiktoken_rs::cl100k_base().expect("tiktoken-rs loads"))
}

fn assert_same_tokens(text: &str) {
    let expected = reference().encode_with_special_tokens(text);
    let got = ours().encode(text).expect("the text splits");
    assert_eq!(got, expected, "tokens of {text:?}");
    assert_eq!(count(text), expected.len() as u64);
}

#[test]
fn counts_match_the_cl100k_encoding() {
    // Known cl100k_base counts.
    assert_eq!(count("Hello world"), 2);
    assert_eq!(count("tiktoken is great!"), 6);
    assert_eq!(count(""), 0);
    // OpenAI's cookbook: one user message "Hello world" is 3 + 1 + 2 + 3.
    assert_eq!(prompt(&[Message::user("Hello world")], &[None]), 9);
}

#[test]
fn every_rank_has_the_reference_bytes_and_maps_back() {
    let encoding = ours();
    for rank in 0..100_256 {
        let bytes = encoding.token(rank);
        assert_eq!(
            bytes,
            reference().decode_bytes(&[rank]).expect("rank exists"),
            "rank {rank}"
        );
        assert_eq!(encoding.rank(bytes), Some(rank), "rank {rank}");
    }
    assert!(encoding.token(100_256).is_empty());
}

#[test]
fn edge_cases_match_tiktoken() {
    let long_word = "a".repeat(20_000);
    let long_spaces = " ".repeat(5_000) + "x";
    let mixed_runs = "ab12 ".repeat(3_000);
    let cases: &[&str] = &[
        "",
        " ",
        "  ",
        "\n",
        " \n \n\n  \t x",
        "trailing spaces   ",
        "   leading",
        "He's, they'll, we'VE, I'M, you'D, 'S alone, it’s curly",
        "12345678901 3.14159 1,000,000 ٣٤٥ 一二三",
        "<|endoftext|>",
        "a<|endoftext|>b <|fim_prefix|><|fim_middle|><|fim_suffix|>\n<|endofprompt|>",
        "<|not special|> <| <|endoftext <|endoftext|",
        "Привет, мир! Как дела?",
        "こんにちは世界。漢字とかな。",
        "emoji 👋🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵",
        "combining e\u{301} and a\u{308}\u{301}, zero\u{200b}width",
        "tabs\tand\r\nCRLF\r\n\r\nlines",
        "{\"json\": [1, 2, {\"k\": null}], \"s\": \"\\u00e9\"}",
        "fn main() {\n    println!(\"hi\");\n}\n",
        "!!!???...,,,;;;::: ---___***",
        "\u{0}\u{1}\u{7f}\u{80}\u{ffff}\u{10ffff}",
        &long_word,
        &long_spaces,
        &mixed_runs,
    ];
    for case in cases {
        assert_same_tokens(case);
    }
}

#[test]
fn documents_and_emulator_replies_match_tiktoken() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    for file in [
        "README.md",
        "BENCHMARKS.md",
        "RELIABILITY.md",
        "docs/PROTOCOL.md",
        "crates/fakegpt-gateway/src/chat.rs",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("file reads");
        assert_same_tokens(&text);
    }
    for prompt in ["Tell me a joke", "Привет", "日本語で", "write code", ""] {
        assert_same_tokens(&fakegpt_upstream::reply_for(prompt, 3_000));
    }
}

/// Text from pieces that exercise every branch of the pattern.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,12}",
        "[0-9]{1,7}",
        "[ \t\n\r]{1,4}",
        "'(s|t|re|ve|m|ll|d|S|LL|x)",
        "[!-/:-@\\[-`{-~]{1,4}",
        "[а-яА-Яё]{1,8}",
        "[\u{3040}-\u{30ff}\u{4e00}-\u{4e40}]{1,6}",
        "[\u{1f300}-\u{1f64f}\u{200d}\u{fe0f}]{1,3}",
        "[\u{300}-\u{36f}\u{a0}\u{2000}-\u{200b}\u{3000}]{1,2}",
        Just("<|endoftext|>".to_string()),
        Just("<|endofprompt|>".to_string()),
        Just("<|".to_string()),
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn random_text_matches_tiktoken(text in text()) {
        let expected = reference().encode_with_special_tokens(&text);
        prop_assert_eq!(ours().encode(&text).expect("the text splits"), expected);
    }
}
