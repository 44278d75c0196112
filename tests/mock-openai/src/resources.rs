//! Moderations, models, files, batches and fine-tuning jobs: realistic minimal objects.

use hyper::StatusCode;
use serde_json::Value;

use crate::json::J;
use crate::{lock, text_bytes, unix_secs, Answer, Ctx, Usage};

/// The moderation categories, in OpenAI's order, with the input types each applies to.
const CATEGORIES: &[(&str, bool)] = &[
    ("harassment", false),
    ("harassment/threatening", false),
    ("hate", false),
    ("hate/threatening", false),
    ("illicit", false),
    ("illicit/violent", false),
    ("self-harm", true),
    ("self-harm/intent", true),
    ("self-harm/instructions", true),
    ("sexual", true),
    ("sexual/minors", false),
    ("violence", true),
    ("violence/graphic", true),
];

pub(crate) fn moderations(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("omni-moderation-latest")
        .to_owned();
    // One result per string; an array of multi-modal parts is one input.
    let inputs = match request.get("input") {
        Some(Value::String(_)) => 1,
        Some(Value::Array(items)) if items.iter().all(Value::is_string) && !items.is_empty() => {
            items.len()
        }
        Some(Value::Array(items)) if !items.is_empty() => 1,
        _ => return Err(ctx.invalid("you must provide an input", Some("input"))),
    };
    let result = || {
        let each = |f: &dyn Fn(usize, bool) -> J| {
            J::O(
                CATEGORIES
                    .iter()
                    .enumerate()
                    .map(|(i, (name, image))| (*name, f(i, *image)))
                    .collect(),
            )
        };
        obj! {
            "flagged" => false,
            "categories" => each(&|_, _| J::Bool(false)),
            "category_scores" => each(&|i, _| J::F(1.0e-6 * (i as f64 + 1.0))),
            "category_applied_input_types" => each(&|_, image| {
                if image {
                    J::arr([J::from("text"), J::from("image")])
                } else {
                    J::arr([J::from("text")])
                }
            }),
        }
    };
    let body = obj! {
        "id" => format!("modr-mock-{}", ctx.seq),
        "model" => model,
        "results" => J::arr((0..inputs).map(|_| result())),
    };
    let tokens = request.get("input").map_or(0, text_bytes);
    ctx.ok(&body, Some(ctx.mock.prompt_tokens.unwrap_or(tokens)))
}

/// The models `GET /v1/models` lists: id, created, owned_by.
pub const MODELS: &[(&str, u64, &str)] = &[
    ("gpt-4o-mini", 1_721_172_741, "system"),
    ("gpt-4o", 1_715_367_049, "system"),
    ("gpt-4.1", 1_744_316_542, "system"),
    ("gpt-4.1-mini", 1_744_318_173, "system"),
    ("gpt-4.1-nano", 1_744_321_707, "system"),
    ("o1", 1_734_375_816, "system"),
    ("o3-mini", 1_737_146_383, "system"),
    ("o4-mini", 1_744_225_351, "system"),
    ("gpt-3.5-turbo-instruct", 1_692_901_427, "system"),
    ("text-embedding-3-small", 1_705_948_997, "system"),
    ("text-embedding-3-large", 1_705_953_180, "system"),
    ("text-embedding-ada-002", 1_671_217_299, "openai-internal"),
    ("dall-e-2", 1_698_798_177, "system"),
    ("dall-e-3", 1_698_785_189, "system"),
    ("gpt-image-1", 1_745_517_030, "system"),
    ("whisper-1", 1_677_532_384, "openai-internal"),
    ("gpt-4o-transcribe", 1_742_068_463, "system"),
    ("gpt-4o-mini-transcribe", 1_742_068_596, "system"),
    ("tts-1", 1_681_940_951, "openai-internal"),
    ("tts-1-hd", 1_699_046_015, "system"),
    ("gpt-4o-mini-tts", 1_742_403_959, "system"),
    ("omni-moderation-latest", 1_731_689_265, "system"),
];

fn model_object(id: &str, created: u64, owned_by: &str) -> J {
    obj! { "id" => id, "object" => "model", "created" => created, "owned_by" => owned_by }
}

pub(crate) fn models(ctx: &Ctx) -> Answer {
    let data = MODELS
        .iter()
        .map(|(id, created, owner)| model_object(id, *created, owner));
    ctx.ok(&obj! { "object" => "list", "data" => J::arr(data) }, None)
}

/// Any model id is answered; unknown ones as if owned by the caller's organization.
pub(crate) fn model(ctx: &Ctx, id: &str) -> Answer {
    let body = match MODELS.iter().find(|(m, _, _)| *m == id) {
        Some((m, created, owner)) => model_object(m, *created, owner),
        None => model_object(id, 1_700_000_000, "org-mock"),
    };
    ctx.ok(&body, None)
}

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct FileObject {
    id: String,
    bytes: u64,
    created_at: u64,
    filename: String,
    purpose: String,
}

impl FileObject {
    fn to_json(&self) -> J {
        obj! {
            "id" => self.id.as_str(),
            "object" => "file",
            "bytes" => self.bytes,
            "created_at" => self.created_at,
            "filename" => self.filename.as_str(),
            "purpose" => self.purpose.as_str(),
            "status" => "processed",
            "expires_at" => J::Null,
            "status_details" => J::Null,
        }
    }
}

pub(crate) fn upload_file(ctx: &Ctx) -> Answer {
    let form = ctx.form()?;
    let Some(file) = form.file("file") else {
        return Err(ctx.invalid("you must provide a file", Some("file")));
    };
    let Some(purpose) = form.field("purpose") else {
        return Err(ctx.invalid("you must provide a purpose", Some("purpose")));
    };
    let object = FileObject {
        id: format!("file-mock-{}", ctx.seq),
        bytes: file.data.len() as u64,
        created_at: unix_secs(),
        filename: file.filename.clone().unwrap_or_default(),
        purpose,
    };
    let body = object.to_json();
    lock(&ctx.state.files).push(object);
    ctx.ok(&body, None)
}

fn query_param(ctx: &Ctx, key: &str) -> Option<String> {
    ctx.query.as_deref()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| v.to_owned())
    })
}

pub(crate) fn list_files(ctx: &Ctx) -> Answer {
    let purpose = query_param(ctx, "purpose");
    let files: Vec<J> = lock(&ctx.state.files)
        .iter()
        .rev()
        .filter(|f| purpose.as_deref().is_none_or(|p| p == f.purpose))
        .map(FileObject::to_json)
        .collect();
    let id_of = |j: Option<&J>| match j {
        Some(J::O(fields)) => fields
            .iter()
            .find(|(k, _)| *k == "id")
            .map_or(J::Null, |(_, v)| v.clone()),
        _ => J::Null,
    };
    let body = obj! {
        "object" => "list",
        "data" => files.clone(),
        "first_id" => id_of(files.first()),
        "last_id" => id_of(files.last()),
        "has_more" => false,
    };
    ctx.ok(&body, None)
}

fn not_found(ctx: &Ctx, what: &str, id: &str) -> Box<crate::Reply> {
    ctx.error(
        StatusCode::NOT_FOUND,
        &format!("No {what} found with id '{id}'."),
        "invalid_request_error",
        Some("id"),
        None,
    )
}

pub(crate) fn get_file(ctx: &Ctx, id: &str) -> Answer {
    let found = lock(&ctx.state.files)
        .iter()
        .find(|f| f.id == id)
        .map(FileObject::to_json);
    match found {
        Some(body) => ctx.ok(&body, None),
        None => Err(not_found(ctx, "file", id)),
    }
}

/// A created batch.
#[derive(Debug, Clone)]
pub struct Batch {
    id: String,
    endpoint: String,
    input_file_id: String,
    completion_window: String,
    created_at: u64,
    metadata: J,
    model: J,
}

impl Batch {
    /// The batch as `POST` returns it (`validating`) or as `GET` returns it (`completed`,
    /// with `usage`).
    fn to_json(&self, completed: bool, usage: Usage) -> J {
        let at = |offset: u64| {
            if completed {
                J::U(self.created_at + offset)
            } else {
                J::Null
            }
        };
        let count = u64::from(completed);
        obj! {
            "id" => self.id.as_str(),
            "object" => "batch",
            "endpoint" => self.endpoint.as_str(),
            "model" => self.model.clone(),
            "errors" => J::Null,
            "input_file_id" => self.input_file_id.as_str(),
            "completion_window" => self.completion_window.as_str(),
            "status" => if completed { "completed" } else { "validating" },
            "output_file_id" => if completed { J::S(format!("file-mock-output-{}", self.id)) } else { J::Null },
            "error_file_id" => J::Null,
            "created_at" => self.created_at,
            "in_progress_at" => at(1),
            "expires_at" => self.created_at + 86_400,
            "finalizing_at" => at(2),
            "completed_at" => at(3),
            "failed_at" => J::Null,
            "expired_at" => J::Null,
            "cancelling_at" => J::Null,
            "cancelled_at" => J::Null,
            "request_counts" => obj! { "total" => count, "completed" => count, "failed" => 0u64 },
            "usage" => usage.responses_json(),
            "metadata" => self.metadata.clone(),
        }
    }
}

fn required_str(
    ctx: &Ctx,
    request: &Value,
    key: &'static str,
) -> Result<String, Box<crate::Reply>> {
    request
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ctx.invalid(&format!("Missing required parameter: '{key}'."), Some(key)))
}

pub(crate) fn create_batch(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let batch = Batch {
        id: format!("batch_mock_{}", ctx.seq),
        endpoint: required_str(ctx, &request, "endpoint")?,
        input_file_id: required_str(ctx, &request, "input_file_id")?,
        completion_window: required_str(ctx, &request, "completion_window")?,
        created_at: unix_secs(),
        metadata: request.get("metadata").cloned().map_or(J::Null, J::V),
        model: J::Null,
    };
    let zero = Usage::with_defaults(0, 0, &crate::MockHeaders::default());
    let body = batch.to_json(false, zero);
    lock(&ctx.state.batches).push(batch);
    ctx.ok(&body, None)
}

/// A known batch, `completed`, with usage from the `x-mock-*-tokens` headers (default 0).
pub(crate) fn get_batch(ctx: &Ctx, id: &str) -> Answer {
    let found = lock(&ctx.state.batches)
        .iter()
        .find(|b| b.id == id)
        .cloned();
    match found {
        Some(mut batch) => {
            // `x-mock-batch-model`: the model the batch ran on, as OpenAI reports it once done.
            if let Some(m) = ctx.headers.get("x-mock-batch-model").and_then(|v| v.to_str().ok()) {
                batch.model = J::S(m.to_owned());
            }
            let usage = Usage::with_defaults(0, 0, &ctx.mock);
            ctx.ok(&batch.to_json(true, usage), None)
        }
        None => Err(not_found(ctx, "batch", id)),
    }
}

pub(crate) fn create_fine_tuning_job(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let model = ctx.model(&request)?;
    let training_file = required_str(ctx, &request, "training_file")?;
    let echo = |key: &str| request.get(key).cloned().map_or(J::Null, J::V);
    let hyperparameters = match request.get("hyperparameters") {
        Some(v @ Value::Object(_)) => J::V(v.clone()),
        _ => obj! {
            "batch_size" => "auto",
            "learning_rate_multiplier" => "auto",
            "n_epochs" => "auto",
        },
    };
    let body = obj! {
        "object" => "fine_tuning.job",
        "id" => format!("ftjob-mock-{}", ctx.seq),
        "model" => model,
        "created_at" => unix_secs(),
        "error" => J::Null,
        "fine_tuned_model" => J::Null,
        "finished_at" => J::Null,
        "hyperparameters" => hyperparameters.clone(),
        "organization_id" => "org-mock",
        "result_files" => J::A(Vec::new()),
        "seed" => request.get("seed").and_then(Value::as_u64).unwrap_or(42),
        "status" => "queued",
        "trained_tokens" => J::Null,
        "training_file" => training_file,
        "validation_file" => echo("validation_file"),
        "estimated_finish" => J::Null,
        "integrations" => J::A(Vec::new()),
        "metadata" => echo("metadata"),
        "method" => match request.get("method") {
            Some(v @ Value::Object(_)) => J::V(v.clone()),
            _ => obj! {
                "type" => "supervised",
                "supervised" => obj! { "hyperparameters" => hyperparameters },
            },
        },
        "user_provided_suffix" => echo("suffix"),
    };
    ctx.ok(&body, None)
}
