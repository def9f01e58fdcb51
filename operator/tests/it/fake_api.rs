//! A fake Kubernetes API server behind a `tower_test` mock: an in-memory object store
//! that answers get, list, server-side apply, merge patch, status patch and events, and
//! records every call for assertions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub content_type: String,
    pub body: Option<Value>,
}

#[derive(Default)]
pub struct Fake {
    pub objects: Mutex<BTreeMap<String, Value>>,
    pub log: Mutex<Vec<Call>>,
    pub deployments_ready: AtomicBool,
    /// Resource plurals the fake cluster does not serve (a missing CRD): every call 404s.
    pub missing_kinds: Mutex<Vec<&'static str>>,
    /// Pages of identities served by the admin API proxy.
    pub identity_pages: Mutex<Vec<Vec<Value>>>,
    /// A real server's admin URL: the Service proxy forwards to it when set.
    pub admin_upstream: Mutex<Option<String>>,
}

const PLURALS: &[&str] = &[
    "identityservers",
    "identityschemas",
    "oidcproviders",
    "couriertemplates",
    "secrets",
    "services",
    "deployments",
    "poddisruptionbudgets",
    "namespaces",
    "leases",
    "pods",
    "networkpolicies",
    "ingresses",
    "httproutes",
    "identities",
];

pub fn path_of<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}",
        K::url_path(&(), obj.meta().namespace.as_deref()),
        obj.meta().name.clone().unwrap()
    )
}

/// JSON merge patch (RFC 7386): a `null` removes a key, also inside a new object.
fn merge(target: &mut Value, patch: &Value) {
    if patch.is_object() && !target.is_object() {
        *target = json!({});
    }
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code})
}

impl Fake {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn put<K: Resource<DynamicType = ()> + Serialize>(&self, obj: &K) {
        let mut v = serde_json::to_value(obj).unwrap();
        v["apiVersion"] = json!(K::api_version(&()));
        v["kind"] = json!(K::kind(&()));
        self.objects.lock().unwrap().insert(path_of(obj), v);
    }

    pub fn get<K: Resource<DynamicType = ()> + DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<K> {
        let path = format!("{}/{name}", K::url_path(&(), Some(namespace)));
        let v = self.objects.lock().unwrap().get(&path).cloned()?;
        Some(serde_json::from_value(v).unwrap())
    }

    pub fn remove<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) {
        let path = format!("{}/{name}", K::url_path(&(), Some(namespace)));
        self.objects.lock().unwrap().remove(&path);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Calls that change something (everything but GET and events).
    pub fn writes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET" && !c.path.contains("/events"))
            .collect()
    }

    pub fn events(&self) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.path.contains("/events") && c.method == "POST")
            .filter_map(|c| c.body)
            .collect()
    }

    pub fn client(self: &Arc<Self>) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let response = fake.handle(request).await;
                send.send_response(response);
            }
        });
        Client::new(service, "default")
    }

    async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let method = request.method().to_string();
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let upstream = self.admin_upstream.lock().unwrap().clone();
        if let (Some(upstream), Some((_, rest))) = (upstream, path.split_once("/proxy/")) {
            self.log.lock().unwrap().push(Call {
                method: method.clone(),
                path: path.clone(),
                content_type: content_type.clone(),
                body: serde_json::from_slice(&bytes).ok(),
            });
            return forward(&upstream, &method, rest, &query, bytes.to_vec()).await;
        }
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        self.log.lock().unwrap().push(Call {
            method: method.clone(),
            path: path.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        let (code, value, link) = self.answer(&method, &path, &query, &content_type, body);
        let mut builder = Response::builder().status(StatusCode::from_u16(code).unwrap());
        if let Some(link) = link {
            builder = builder.header(http::header::LINK, link);
        }
        builder
            .body(Body::from(serde_json::to_vec(&value).unwrap()))
            .unwrap()
    }

    fn answer(
        &self,
        method: &str,
        path: &str,
        query: &str,
        content_type: &str,
        body: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        if path.contains("/proxy/admin/identities") {
            let pages = self.identity_pages.lock().unwrap();
            let index: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page_token="))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let page = pages.get(index).cloned().unwrap_or_default();
            let link = (index + 1 < pages.len()).then(|| {
                format!(
                    "</admin/identities?page_size=500&page_token={}>; rel=\"next\"",
                    index + 1
                )
            });
            return (200, Value::Array(page), link);
        }
        if path.contains("/events") {
            return (201, body.unwrap_or(json!({})), None);
        }
        let missing = self.missing_kinds.lock().unwrap().clone();
        if missing.iter().any(|k| path.contains(&format!("/{k}"))) {
            return (404, status(404, "NotFound"), None);
        }
        let mut objects = self.objects.lock().unwrap();
        match method {
            "GET" => {
                if let Some(v) = objects.get(path) {
                    return (200, v.clone(), None);
                }
                let plural = path.rsplit('/').next().unwrap_or_default();
                if !PLURALS.contains(&plural) {
                    return (404, status(404, "NotFound"), None);
                }
                let prefix = &path[..path.len() - plural.len() - 1];
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|(p, _)| {
                        let segments: Vec<&str> = p.rsplitn(3, '/').collect();
                        let in_scope = if prefix.contains("/namespaces/") {
                            p.starts_with(&format!("{path}/"))
                        } else {
                            p.starts_with(&format!("{prefix}/namespaces/"))
                        };
                        in_scope && segments.get(1) == Some(&plural)
                    })
                    .map(|(_, v)| v.clone())
                    .collect();
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
                    None,
                )
            }
            "PATCH" => {
                let body = body.unwrap_or(json!({}));
                if let Some(object_path) = path.strip_suffix("/status") {
                    let Some(existing) = objects.get_mut(object_path) else {
                        return (404, status(404, "NotFound"), None);
                    };
                    merge(existing, &json!({"status": body["status"].clone()}));
                    bump(existing);
                    return (200, existing.clone(), None);
                }
                if content_type.starts_with("application/apply-patch") {
                    let existing = objects.get(path).cloned();
                    let mut next = body.clone();
                    let generation = match &existing {
                        Some(e) if e.get("spec") == next.get("spec") => {
                            e["metadata"]["generation"].as_i64().unwrap_or(1)
                        }
                        Some(e) => e["metadata"]["generation"].as_i64().unwrap_or(1) + 1,
                        None => 1,
                    };
                    next["metadata"]["generation"] = json!(generation);
                    next["metadata"]["resourceVersion"] = existing
                        .as_ref()
                        .map_or(json!("1"), |e| e["metadata"]["resourceVersion"].clone());
                    if let Some(status) = existing.as_ref().and_then(|e| e.get("status")) {
                        next["status"] = status.clone();
                    }
                    if next["kind"] == "Deployment" && self.deployments_ready.load(Ordering::SeqCst)
                    {
                        let replicas = next["spec"]["replicas"].clone();
                        next["status"] = json!({"observedGeneration": generation, "replicas": replicas,
                            "readyReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas});
                    }
                    if existing.as_ref() != Some(&next) {
                        bump(&mut next);
                    }
                    objects.insert(path.to_owned(), next.clone());
                    return (200, next, None);
                }
                let Some(existing) = objects.get_mut(path) else {
                    return (404, status(404, "NotFound"), None);
                };
                let mut patch = body;
                if let Some(m) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                merge(existing, &patch);
                bump(existing);
                let out = existing.clone();
                let gone = out["metadata"]["deletionTimestamp"].is_string()
                    && out["metadata"]["finalizers"]
                        .as_array()
                        .is_none_or(Vec::is_empty);
                if gone {
                    objects.remove(path);
                }
                (200, out, None)
            }
            "DELETE" => match objects.remove(path) {
                Some(v) => (200, v, None),
                None => (404, status(404, "NotFound"), None),
            },
            "POST" | "PUT" => {
                let v = body.unwrap_or(json!({}));
                let name = v["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let key = if method == "POST" {
                    format!("{path}/{name}")
                } else {
                    path.to_owned()
                };
                objects.insert(key, v.clone());
                (if method == "POST" { 201 } else { 200 }, v, None)
            }
            _ => (405, status(405, "MethodNotAllowed"), None),
        }
    }
}

/// The API server's Service proxy: the request goes to the real server, its answer comes back
/// unchanged; an unreachable server is a 503 without a Kratos error body, as the proxy answers.
async fn forward(
    upstream: &str,
    method: &str,
    rest: &str,
    query: &str,
    body: Vec<u8>,
) -> Response<Body> {
    let mut url = format!("{upstream}/{rest}");
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    let request = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .header("content-type", "application/json")
        .body(body);
    match request.send().await {
        Ok(r) => {
            let mut builder = Response::builder().status(r.status().as_u16());
            if let Some(link) = r.headers().get("link") {
                builder = builder.header(http::header::LINK, link.as_bytes());
            }
            let bytes = r.bytes().await.unwrap_or_default();
            builder.body(Body::from(bytes.to_vec())).unwrap()
        }
        Err(e) => Response::builder()
            .status(503)
            .body(Body::from(
                format!("error trying to reach service: {e}").into_bytes(),
            ))
            .unwrap(),
    }
}

fn bump(obj: &mut Value) {
    let rv: u64 = obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    obj["metadata"]["resourceVersion"] = json!((rv + 1).to_string());
}
