//! A minimal browser for tests: keeps cookies, never follows redirects, and
//! reports status, `Location` and the body of each answer.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::TestServer;

/// One answer.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: Value,
}

pub struct Browser<'a> {
    pub server: &'a TestServer,
    pub cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            cookies: BTreeMap::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.server.public)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("Cookie", self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || cookie.contains("Max-Age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    /// GET as a page load (`json` false) or as a SPA's fetch (`json` true).
    pub async fn get(&mut self, path: &str, json: bool) -> Answer {
        let mut request = self.server.http.get(self.url(path));
        if json {
            request = request.header("Accept", "application/json");
        } else {
            request = request.header("Accept", "text/html");
        }
        self.send(request).await
    }

    /// POST an HTML form.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .server
            .http
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "text/html")
            .body(body);
        self.send(request).await
    }

    /// POST JSON as a SPA does.
    pub async fn post_json(&mut self, path: &str, body: &Value) -> Answer {
        let request = self
            .server
            .http
            .post(self.url(path))
            .header("Accept", "application/json")
            .json(body);
        self.send(request).await
    }

    /// Starts a browser flow as a SPA and returns it.
    pub async fn start(&mut self, flow: &str) -> Value {
        let answer = self
            .get(&format!("/self-service/{flow}/browser"), true)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

/// The value of a node of a flow's form.
pub fn node_value(flow: &Value, name: &str) -> String {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name)
        .and_then(|n| n["attributes"]["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The path and query of a URL on the test server.
pub fn path_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    }
}
