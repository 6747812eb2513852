//! The models the gateway serves (`/v1/models`) and their aliases.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::config::ConfigError;
use crate::error::ApiError;
use crate::openai::{Model, ModelList};
use crate::state::AppState;

/// When the served models "were created" (OpenAI's listing has the field;
/// providers do not say).
const CREATED: u64 = 1_677_610_602;

/// Model ids clients may ask for, each mapped to the provider's model: the
/// provider's own, then the configured aliases.
#[derive(Debug, Clone)]
pub struct Models {
    entries: Vec<(String, String)>,
}

impl Models {
    /// The provider's `models`, each under its own id, and `aliases`
    /// (alias, model), each of which must name one of them.
    pub fn new(models: &[String], aliases: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut entries: Vec<(String, String)> =
            models.iter().map(|m| (m.clone(), m.clone())).collect();
        for (alias, model) in aliases {
            let Some(target) = models.iter().find(|m| *m == model) else {
                return Err(ConfigError::new(format!(
                    "model alias {alias:?} names {model:?}, which the provider does not serve (it serves: {})",
                    models.join(", ")
                )));
            };
            match entries.iter_mut().find(|(id, _)| id == alias) {
                Some(entry) => entry.1.clone_from(target),
                None => entries.push((alias.clone(), target.clone())),
            }
        }
        Ok(Models { entries })
    }

    /// The provider's model for an id clients asked for.
    pub fn resolve(&self, id: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(alias, _)| alias == id)
            .map(|(_, m)| m.as_str())
    }

    fn model(&self, id: &str) -> Model {
        Model {
            id: id.to_owned(),
            object: "model".into(),
            created: CREATED,
            owned_by: "fakegpt".into(),
        }
    }
}

/// `GET /v1/models`.
pub async fn list(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    let models = &state.models;
    Json(ModelList {
        object: "list".into(),
        data: models
            .entries
            .iter()
            .map(|(id, _)| models.model(id))
            .collect(),
    })
}

/// `GET /v1/models/{id}`.
pub async fn retrieve(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let models = &state.models;
    match models.resolve(&id) {
        Some(_) => Json(models.model(&id)).into_response(),
        None => ApiError::model_not_found(&id).into_response(),
    }
}
