//! The gateway's request parsing and validation on arbitrary bodies: it
//! must never panic, and every refusal must be a 400 or 404 in OpenAI's
//! shape.
#![no_main]

use fakegpt_gateway::models::Models;
use fakegpt_gateway::validate::chat_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(models) = Models::new(&["gpt-3.5-turbo".to_owned()], &[]) else {
        return;
    };
    if let Err(err) = chat_request(data, &models) {
        assert!(matches!(err.status.as_u16(), 400 | 404), "{}", err.status);
        assert!(!err.message.is_empty());
    }
});
