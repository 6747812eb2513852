//! The four endpoints of the chat-shared service, and its front page.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State as Extract;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::conversations::Refusal;
use crate::fault::{Endpoint, Fault};
use crate::request;
use crate::state::{Count, Recorded, State};
use crate::stream::{self, StreamFault};

/// The name of the session cookie set by `/auth/login`.
pub const SESSION_COOKIE: &str = "chat_shared_session";

/// The emulator's routes over `state`, compressing answers when its
/// configuration says so (decided here, once).
pub fn router(state: Arc<State>) -> Router {
    let compress = state.config().compress;
    let router = Router::new()
        .route("/", get(index))
        .route("/api/loads", get(loads))
        .route("/auth/login", post(login))
        .route("/api/auth/session", get(session))
        .route("/api/conversation", post(conversation))
        .route("/_emulator/counters", get(counters))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            record,
        ))
        .with_state(state);
    if !compress {
        return router;
    }
    // The default predicate leaves event streams alone; compressing them is
    // the point here.
    let predicate = tower_http::compression::predicate::SizeAbove::new(32);
    router.layer(tower_http::compression::CompressionLayer::new().compress_when(predicate))
}

/// Remembers each request's method, target and headers (and the body of
/// logins and conversations), for tests to inspect.
async fn record(
    Extract(state): Extract<Arc<State>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let (bytes, body) = if matches!(parts.uri.path(), "/api/conversation" | "/auth/login") {
        match axum::body::to_bytes(body, 1024 * 1024).await {
            Ok(bytes) => (bytes.clone(), Body::from(bytes)),
            Err(_) => return json_error(StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB"),
        }
    } else {
        (Bytes::new(), body)
    };
    state.record(Recorded {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: bytes.to_vec(),
    });
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

fn json_error(status: StatusCode, detail: impl serde::Serialize) -> Response {
    (status, Json(json!({ "detail": detail }))).into_response()
}

/// `GET /_emulator/counters`: the [`Counters`](crate::Counters) as JSON, so
/// that a test or a person driving a separate emulator process can see what
/// it served (and what its clients abandoned). Not part of the real service.
async fn counters(Extract(state): Extract<Arc<State>>) -> Response {
    Json(state.counters()).into_response()
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "Not Found")
}

async fn index() -> Html<&'static str> {
    Html("<!DOCTYPE html><html><head><title>chat-shared (fakegpt emulator)</title></head><body><p>Logged in. This is the fakegpt emulator of the chat-shared service.</p></body></html>")
}

async fn loads(Extract(state): Extract<Arc<State>>) -> Response {
    state.bump(Count::Loads);
    match state.take_fault(Endpoint::Loads) {
        Some(Fault::EmptyLoads) => return Json(json!({ "loads": [] })).into_response(),
        Some(Fault::LoadsMissingField) => return Json(json!({ "accounts": 3 })).into_response(),
        _ => {}
    }
    let loads: Vec<_> = state
        .config()
        .accounts
        .iter()
        .map(|a| json!({ "token_id": a.token_id, "count": a.count }))
        .collect();
    Json(json!({ "loads": loads })).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token_key: String,
    session_password: String,
}

async fn login(Extract(state): Extract<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a form-encoded body",
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "token_key and session_password are required",
        );
    };
    match state.take_fault(Endpoint::Login) {
        Some(Fault::LoginRejected) => {
            return json_error(StatusCode::UNAUTHORIZED, "token_key rejected")
        }
        Some(Fault::LoginBusy { retry_after }) => {
            let mut response = json_error(StatusCode::TOO_MANY_REQUESTS, "this account is busy");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return response;
        }
        _ => {}
    }
    let config = state.config();
    if !config.login_delay.is_zero() {
        tokio::time::sleep(config.login_delay).await;
    }
    if !config.accounts.iter().any(|a| a.token_id == form.token_key) {
        return json_error(StatusCode::UNAUTHORIZED, "unknown token_key");
    }
    if form.session_password.is_empty() {
        return json_error(
            StatusCode::BAD_REQUEST,
            "session_password must not be empty",
        );
    }
    let owner = crate::conversations::Owner::new(&form.token_key, &form.session_password);
    let (session_id, _) = state.create_session(owner);
    state.bump(Count::Logins);
    let cookie = format!("{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax");
    let mut response = if config.login_redirect {
        (StatusCode::FOUND, [(header::LOCATION, "/")]).into_response()
    } else {
        Json(json!({ "ok": true })).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The value of the session cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

async fn session(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    state.bump(Count::Sessions);
    let login = session_cookie(&headers).and_then(|id| state.session(&id));
    if login.is_some() {
        state.bump(Count::SessionsWithCookie);
    }
    if let Some(Fault::SessionWithoutToken) = state.take_fault(Endpoint::Session) {
        return Json(json!({})).into_response();
    }
    match login {
        Some(login) => Json(json!({
            "user": {"id": "user-emulated", "name": "chat-shared", "email": "shared@example.invalid"},
            "expires": "2099-01-01T00:00:00.000Z",
            "accessToken": login.access_token,
            "authProvider": "auth0"
        }))
        .into_response(),
        None => Json(json!({})).into_response(),
    }
}

async fn conversation(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get("x-authorization")
        .or_else(|| headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let owner = match state.authorize(token, session_cookie(&headers).as_deref()) {
        Ok(owner) => owner,
        Err(why) => {
            state.bump(Count::Unauthorized);
            let detail = if why == "token_expired" {
                json!({"message": "Your authentication token has expired. Please try signing in again.", "code": "token_expired"})
            } else {
                json!(why)
            };
            return json_error(StatusCode::UNAUTHORIZED, detail);
        }
    };
    let turn = match request::Turn::from_body(&body) {
        Ok(turn) => turn,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, why),
    };
    let fault = state.take_fault(Endpoint::Conversation);
    match &fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests in 1 hour. Try again later.",
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            return response;
        }
        Some(Fault::ServerError) => {
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong, please try again.")
        }
        Some(Fault::HtmlForbidden) => {
            return (
                StatusCode::FORBIDDEN,
                Html("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div>Checking your browser before accessing chat-shared. This may take a few seconds.</div></body></html>"),
            )
                .into_response()
        }
        Some(Fault::WrongContentType) => {
            return Json(json!({"message": "this is not an event stream"})).into_response()
        }
        _ => {}
    }
    let plan = match state.plan(&owner, &turn) {
        Ok(plan) => plan,
        Err(refusal) => {
            let status = if refusal == Refusal::NotFound {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            return json_error(status, refusal.detail());
        }
    };
    state.bump(Count::Conversations);
    let config = state.config();
    let answer = stream::Answer {
        reply: plan.reply,
        conversation_id: plan.conversation_id,
        message_id: plan.message_id,
        v1: config.dialect.speaks_v1(&turn.encodings),
        prompt: turn.prompt,
        model: turn.model,
        user_message_id: turn.user_message_id,
    };
    let body = stream::body(
        Arc::clone(&state),
        config,
        answer,
        StreamFault::from_fault(fault.as_ref()),
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
