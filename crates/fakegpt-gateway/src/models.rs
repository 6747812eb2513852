//! The models the gateway serves (`/v1/models`) and their aliases.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::ApiError;
use crate::openai::{Model, ModelList};
use crate::state::AppState;

/// When the served models "were created", as OpenAI lists gpt-3.5-turbo.
const CREATED: u64 = 1_677_610_602;

/// Model ids clients may ask for, each mapped to the provider's model.
#[derive(Debug, Clone)]
pub struct Models {
    entries: Vec<(String, String)>,
}

impl Default for Models {
    /// `gpt-3.5-turbo` and its dated snapshots, all served by FakeGpt's
    /// `gpt-3.5-turbo` (the web model behind it).
    fn default() -> Self {
        let upstream = "gpt-3.5-turbo";
        let ids = [
            "gpt-3.5-turbo",
            "gpt-3.5-turbo-0125",
            "gpt-3.5-turbo-1106",
            "gpt-3.5-turbo-0613",
        ];
        Models {
            entries: ids
                .iter()
                .map(|id| ((*id).to_owned(), upstream.to_owned()))
                .collect(),
        }
    }
}

impl Models {
    /// A model list for `provider_models`, each served under its own id.
    pub fn from_provider(provider_models: &[&str]) -> Self {
        let mut models = Models::default();
        for model in provider_models {
            models.add_alias(model, model);
        }
        models
    }

    /// Serves `alias` with the provider's `model`.
    pub fn add_alias(&mut self, alias: &str, model: &str) {
        match self.entries.iter_mut().find(|(id, _)| id == alias) {
            Some(entry) => entry.1 = model.to_owned(),
            None => self.entries.push((alias.to_owned(), model.to_owned())),
        }
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
    let models = &state.config.models;
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
    let models = &state.config.models;
    match models.resolve(&id) {
        Some(_) => Json(models.model(&id)).into_response(),
        None => ApiError::model_not_found(&id).into_response(),
    }
}
