//! Property tests over request parsing and validation (hostile input): any bytes, any JSON,
//! any field values — parsing never panics, and whatever is accepted satisfies the spec's rules.

use portal_shared::input::Body;
use proptest::prelude::*;
use serde_json::{json, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,80}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map("[a-z_]{1,20}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every validator, in the order an endpoint reads them; none may panic.
fn exercise(b: &Body) {
    if let Ok(id) = b.identity() {
        assert!(id.platform_user_id.bytes().all(|c| c.is_ascii_digit()));
        assert!((1..=20).contains(&id.platform_user_id.len()));
    }
    if let Ok(r) = b.bot_report() {
        assert!(!r.platform_username.is_empty() && r.platform_username.chars().count() <= 64);
        assert_eq!(r.platform_username.trim(), r.platform_username);
        assert!(!r.platform_username.chars().any(char::is_control));
        if let Some(url) = r.platform_avatar_url {
            assert!(url.starts_with("https://") && url.len() <= 2048);
        }
    }
    if let Ok(code) = b.code() {
        assert!(code.len() == 8 && code.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
    if let Ok(u) = b.username() {
        assert!((3..=32).contains(&u.len()) && u.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..10_000)) {
        if let Ok(b) = Body::parse(&raw) {
            prop_assert!(raw.len() <= 8192);
            exercise(&b);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        if let Ok(b) = Body::parse(v.to_string().as_bytes()) {
            prop_assert!(v.is_object());
            exercise(&b);
        }
    }

    #[test]
    fn arbitrary_field_values(
        platform in prop_oneof![Just(json!("discord")), Just(json!("telegram")), ".{0,12}".prop_map(Value::String), any_json()],
        puid in prop_oneof!["[0-9]{0,24}".prop_map(Value::String), ".{0,24}".prop_map(Value::String), any_json()],
        name in prop_oneof![".{0,80}".prop_map(Value::String), any_json()],
        url in prop_oneof!["https://[a-z]{0,10}/.{0,40}".prop_map(Value::String), ".{0,40}".prop_map(Value::String), any_json()],
        code in prop_oneof!["[A-Za-z0-9]{8}".prop_map(Value::String), ".{0,12}".prop_map(Value::String), any_json()],
        username in prop_oneof!["[A-Za-z0-9._-]{1,40}".prop_map(Value::String), ".{0,40}".prop_map(Value::String), any_json()],
    ) {
        let body = json!({
            "platform": platform, "platform_user_id": puid, "platform_username": name,
            "platform_avatar_url": url, "code": code, "username": username,
        });
        if let Ok(b) = Body::parse(body.to_string().as_bytes()) {
            exercise(&b);
        }
    }

    #[test]
    fn well_formed_values_are_accepted(puid in "[0-9]{1,20}", code in "[A-Za-z0-9]{8}", username in "[A-Za-z0-9._-]{3,32}") {
        let b = Body::parse(json!({"platform": "telegram", "platform_user_id": puid, "code": code, "username": username}).to_string().as_bytes()).unwrap();
        prop_assert!(b.identity().is_ok());
        prop_assert_eq!(b.code().unwrap(), code);
        prop_assert_eq!(b.username().unwrap(), username);
    }
}
