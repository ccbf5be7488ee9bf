//! `/Bulk` (RFC 7644 §3.7): operations in order, `bulkId` references, circular references
//! resolved by creating first and patching the references in, `failOnErrors`, limits.

use std::collections::HashMap;

use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::query::{Preconditions, RawQuery};
use super::{Answer, Authenticator, Call, ScimService, to_json};
use crate::error::{Error, quote_input};
use crate::message::{
    BULK_REQUEST_SCHEMA, BulkMethod, BulkOperationResponse, BulkRequest, BulkResponse,
    PATCH_OP_SCHEMA,
};
use crate::store::{RequestContext, ResourceStore};

const PREFIX: &str = "bulkId:";

/// The `bulkId`s a value refers to (strings `bulkId:<id>`), without recursion.
fn references(v: &Value, out: &mut Vec<String>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(PREFIX) {
                    out.push(id.to_owned());
                }
            }
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
}

/// Replaces every string `bulkId:<id>` whose id is resolved, without recursion.
fn substitute(v: &mut Value, resolved: &HashMap<String, String>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(new) = s.strip_prefix(PREFIX).and_then(|id| resolved.get(id)) {
                    *s = new.clone();
                }
            }
            Value::Array(a) => stack.extend(a.iter_mut()),
            Value::Object(o) => stack.extend(o.values_mut()),
            _ => {}
        }
    }
}

fn path_references(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix(PREFIX))
        .map(str::to_owned)
        .collect()
}

fn substitute_path(path: &str, resolved: &HashMap<String, String>) -> String {
    path.split('/')
        .map(
            |s| match s.strip_prefix(PREFIX).and_then(|id| resolved.get(id)) {
                Some(new) => new.as_str(),
                None => s,
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn method_of(m: BulkMethod) -> Method {
    match m {
        BulkMethod::Post => Method::POST,
        BulkMethod::Put => Method::PUT,
        BulkMethod::Patch => Method::PATCH,
        BulkMethod::Delete => Method::DELETE,
    }
}

fn failure(method: BulkMethod, bulk_id: Option<String>, e: &Error) -> BulkOperationResponse {
    BulkOperationResponse {
        method,
        bulk_id,
        version: None,
        location: None,
        response: Some(to_json(e)),
        status: e.status,
    }
}

/// Elements removed from a POST body to break a reference cycle, to be patched in later.
struct Deferred {
    index: usize,
    attribute: String,
    elements: Vec<Value>,
}

impl<S: ResourceStore, A: Authenticator> ScimService<S, A> {
    pub(super) async fn bulk(&self, ctx: &RequestContext, body: Value) -> Result<Answer, Error> {
        if let Some(s) = body.get("schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.is_empty()
                    || a.iter().any(|u| {
                        u.as_str()
                            .is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
                    })
            });
            if !ok {
                return Err(Error::invalid_syntax(format!(
                    "a /Bulk body must be a BulkRequest listing \"{BULK_REQUEST_SCHEMA}\" in \"schemas\""
                )));
            }
        }
        let req = BulkRequest::from_json(body)?;
        let max = self.settings.bulk_max_operations;
        if req.operations.len() as u64 > max {
            return Err(Error::status(
                413,
                format!(
                    "the bulk request has {} operations; maxOperations is {max}",
                    req.operations.len()
                ),
            ));
        }
        let fail_on_errors = req
            .fail_on_errors
            .and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n > 0);
        let ops = req.operations;
        let n = ops.len();
        let mut results: Vec<Option<BulkOperationResponse>> = vec![None; n];
        let mut resolved: HashMap<String, String> = HashMap::new();
        // bulkId -> operation index (POSTs only).
        let mut declared: HashMap<String, usize> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            if op.method == BulkMethod::Post
                && let Some(b) = &op.bulk_id
            {
                declared.entry(b.clone()).or_insert(i);
            }
        }
        let mut deferred: Vec<Deferred> = Vec::new();
        let mut errors = 0u64;
        let stop = |errors: u64| fail_on_errors.is_some_and(|n| errors >= n);

        'outer: loop {
            let mut progress = false;
            for i in 0..n {
                if results[i].is_some() || stop(errors) {
                    continue;
                }
                let op = &ops[i];
                let mut refs = path_references(&op.path);
                if let Some(d) = &op.data {
                    references(d, &mut refs);
                }
                let mut waiting = false;
                let mut broken = None;
                for r in &refs {
                    if resolved.contains_key(r) {
                        continue;
                    }
                    match declared.get(r) {
                        Some(&j) if results[j].is_none() && j != i => waiting = true,
                        _ => broken = Some(r.clone()),
                    }
                }
                if let Some(r) = broken {
                    let e = Error::status(
                        409,
                        format!(
                            "bulkId {} names no operation that succeeded",
                            quote_input(&r)
                        ),
                    );
                    results[i] = Some(failure(op.method, op.bulk_id.clone(), &e));
                    errors += 1;
                    progress = true;
                    continue;
                }
                if waiting {
                    continue;
                }
                let path = substitute_path(&op.path, &resolved);
                let mut data = op.data.clone();
                if let Some(d) = data.as_mut() {
                    substitute(d, &resolved);
                }
                let r = self
                    .bulk_one(
                        ctx,
                        op.method,
                        op.bulk_id.clone(),
                        op.version.as_deref(),
                        &path,
                        data,
                    )
                    .await;
                if r.status >= 400 {
                    errors += 1;
                } else if let (Some(b), Some(loc)) = (&op.bulk_id, &r.location)
                    && let Some(id) = loc.rsplit('/').next()
                {
                    resolved.insert(b.clone(), id.to_owned());
                }
                results[i] = Some(r);
                progress = true;
            }
            if stop(errors) || results.iter().all(Option::is_some) {
                break;
            }
            if progress {
                continue;
            }
            // Only operations waiting on each other remain: create one POST without the
            // elements that reference pending operations, patch them in at the end.
            for i in 0..n {
                if results[i].is_some() || ops[i].method != BulkMethod::Post {
                    continue;
                }
                let Some(Value::Object(data)) = ops[i].data.clone() else {
                    continue;
                };
                let mut kept = Map::new();
                let mut removed: Vec<Deferred> = Vec::new();
                for (k, v) in data {
                    match v {
                        Value::Array(items) => {
                            let (later, now): (Vec<Value>, Vec<Value>) =
                                items.into_iter().partition(|e| {
                                    e.get("value").and_then(Value::as_str).is_some_and(|s| {
                                        s.strip_prefix(PREFIX)
                                            .is_some_and(|id| !resolved.contains_key(id))
                                    })
                                });
                            if !later.is_empty() {
                                removed.push(Deferred {
                                    index: i,
                                    attribute: k.clone(),
                                    elements: later,
                                });
                            }
                            kept.insert(k, Value::Array(now));
                        }
                        other => {
                            kept.insert(k, other);
                        }
                    }
                }
                let mut rest = Vec::new();
                let kept = Value::Object(kept);
                references(&kept, &mut rest);
                if removed.is_empty() || rest.iter().any(|r| !resolved.contains_key(r)) {
                    continue;
                }
                let mut data = kept;
                substitute(&mut data, &resolved);
                let op = &ops[i];
                let r = self
                    .bulk_one(
                        ctx,
                        op.method,
                        op.bulk_id.clone(),
                        None,
                        &substitute_path(&op.path, &resolved),
                        Some(data),
                    )
                    .await;
                if r.status >= 400 {
                    errors += 1;
                } else if let (Some(b), Some(loc)) = (&op.bulk_id, &r.location) {
                    if let Some(id) = loc.rsplit('/').next() {
                        resolved.insert(b.clone(), id.to_owned());
                    }
                    deferred.extend(removed);
                }
                results[i] = Some(r);
                continue 'outer;
            }
            // A cycle that cannot be broken.
            for i in 0..n {
                if results[i].is_none() {
                    let e =
                        Error::status(409, "circular bulkId references that cannot be resolved");
                    results[i] = Some(failure(ops[i].method, ops[i].bulk_id.clone(), &e));
                }
            }
            break;
        }

        for d in deferred {
            let Some(Some(done)) = results.get(d.index) else {
                continue;
            };
            let Some(location) = done.location.clone() else {
                continue;
            };
            let mut value = Value::Array(d.elements);
            substitute(&mut value, &resolved);
            let mut left = Vec::new();
            references(&value, &mut left);
            let method = ops[d.index].method;
            let bulk_id = ops[d.index].bulk_id.clone();
            if !left.is_empty() {
                let e = Error::status(409, "a bulkId reference could not be resolved");
                results[d.index] = Some(failure(method, bulk_id, &e));
                continue;
            }
            let path = location
                .strip_prefix(self.base_url())
                .unwrap_or(&location)
                .to_owned();
            let patch = json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "add", "path": d.attribute, "value": value}],
            });
            let r = self
                .bulk_one(ctx, BulkMethod::Patch, None, None, &path, Some(patch))
                .await;
            if let Some(Some(slot)) = results.get_mut(d.index) {
                if r.status >= 400 {
                    *slot = failure(
                        method,
                        bulk_id,
                        &Error::status(
                            r.status,
                            "the references of this operation could not be added",
                        ),
                    );
                } else {
                    slot.version = r.version;
                }
            }
        }

        let operations = results.into_iter().flatten().collect();
        Ok(Answer::Json(to_json(&BulkResponse::new(operations))))
    }

    async fn bulk_one(
        &self,
        ctx: &RequestContext,
        method: BulkMethod,
        bulk_id: Option<String>,
        version: Option<&str>,
        path: &str,
        data: Option<Value>,
    ) -> BulkOperationResponse {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let schema = segments
            .first()
            .and_then(|s| self.registry.resource_type_by_endpoint(s));
        let (schema, id) = match (schema, segments.len()) {
            (Some(s), 1) if method == BulkMethod::Post => (s, None),
            (Some(s), 2) if method != BulkMethod::Post => (s, Some(segments[1].to_owned())),
            _ => {
                let e = Error::not_found(format!(
                    "no {} endpoint at {}",
                    method_of(method),
                    quote_input(path)
                ));
                return failure(method, bulk_id, &e);
            }
        };
        let if_match = version.map(|v| {
            Preconditions::parse(http::HeaderValue::from_str(v).ok().iter())
                .unwrap_or(Preconditions::Tags(Vec::new()))
        });
        let call = Call {
            method: method_of(method),
            schema,
            id: id.clone(),
            body: if method == BulkMethod::Delete {
                None
            } else {
                Some(data.unwrap_or(Value::Null))
            },
            if_match,
            if_none_match: None,
            query: RawQuery::default(),
        };
        match self.call(ctx, call).await {
            Ok(Answer::Resource {
                status,
                body,
                version,
                location,
            }) => {
                let location = location.or_else(|| {
                    body.get("id")
                        .and_then(Value::as_str)
                        .map(|id| self.location(&schema, id))
                });
                BulkOperationResponse {
                    method,
                    bulk_id,
                    version: Some(super::etag(&version)),
                    location,
                    response: None,
                    status: status.as_u16(),
                }
            }
            Ok(Answer::NoContent { version }) => BulkOperationResponse {
                method,
                bulk_id,
                version: version.map(|v| super::etag(&v)),
                location: id.map(|id| self.location(&schema, &id)),
                response: None,
                status: StatusCode::NO_CONTENT.as_u16(),
            },
            Ok(_) => BulkOperationResponse {
                method,
                bulk_id,
                version: None,
                location: None,
                response: None,
                status: 200,
            },
            Err(e) => failure(method, bulk_id, &e),
        }
    }
}
