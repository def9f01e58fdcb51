//! Admin-API client commands: import, list, get and delete identities.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use super::Endpoint;

/// Identities sent per batch request.
const BATCH: usize = 1000;

pub(super) fn base_url(endpoint: &Endpoint) -> Result<String> {
    let url = endpoint
        .endpoint
        .clone()
        .or_else(|| std::env::var("KRATOS_ADMIN_URL").ok())
        .or_else(|| std::env::var("BIA_ADMIN_URL").ok())
        .ok_or_else(|| anyhow!("no admin endpoint: pass --endpoint or set KRATOS_ADMIN_URL"))?;
    Ok(url.trim_end_matches('/').to_owned())
}

pub(super) fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().build()?)
}

pub(super) async fn error_text(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let reason = body["error"]["reason"]
        .as_str()
        .or(body["error"]["message"].as_str())
        .unwrap_or("no details");
    format!("{status}: {reason}")
}

pub(super) fn print(value: &Value, format: &str) -> Result<()> {
    if format == "json-pretty" {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{value}");
    }
    Ok(())
}

fn read_identities(files: &[PathBuf]) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    for file in files {
        let text = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        };
        match serde_json::from_str::<Value>(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?
        {
            Value::Array(items) => all.extend(items),
            object @ Value::Object(_) => all.push(object),
            _ => bail!(
                "{}: expected an identity object or a list of them",
                file.display()
            ),
        }
    }
    Ok(all)
}

/// `bia import identities FILE...`
pub async fn import_identities(files: &[PathBuf], endpoint: &Endpoint) -> Result<()> {
    let base = base_url(endpoint)?;
    let identities = read_identities(files)?;
    let http = client()?;
    let mut failed = 0usize;
    let mut created = Vec::new();
    for (chunk_index, chunk) in identities.chunks(BATCH).enumerate() {
        let body = json!({
            "identities": chunk.iter().map(|i| json!({"create": i})).collect::<Vec<_>>()
        });
        let response = http
            .patch(format!("{base}/admin/identities"))
            .json(&body)
            .send()
            .await
            .context("calling the admin API")?;
        if !response.status().is_success() {
            bail!("import failed: {}", error_text(response).await);
        }
        let result: Value = response.json().await?;
        for (n, entry) in result["identities"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if entry["action"] == "create" {
                created.push(entry["identity"].clone());
                if endpoint.format == "table" {
                    println!("{}", entry["identity"].as_str().unwrap_or_default());
                }
            } else {
                failed += 1;
                eprintln!(
                    "identity #{} of the input: {}",
                    chunk_index * BATCH + n + 1,
                    entry["error"]["reason"]
                        .as_str()
                        .or(entry["error"]["message"].as_str())
                        .unwrap_or("failed")
                );
            }
        }
    }
    if endpoint.format != "table" {
        print(&Value::Array(created.clone()), &endpoint.format)?;
    }
    eprintln!("imported {} identities, {failed} failed", created.len());
    if failed > 0 {
        bail!("{failed} identities could not be imported");
    }
    Ok(())
}

fn next_token(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    link.split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| part.split("page_token=").nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(|c| *c != '>' && *c != '&')
                .collect()
        })
}

fn identifiers(identity: &Value) -> String {
    identity["verifiable_addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            identity["recovery_addresses"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .filter_map(|a| a["value"].as_str())
        .next()
        .unwrap_or("")
        .to_owned()
}

/// `bia list identities`
pub async fn list_identities(
    page_size: u32,
    page_token: Option<String>,
    all: bool,
    endpoint: &Endpoint,
) -> Result<()> {
    let base = base_url(endpoint)?;
    let http = client()?;
    let mut token = page_token;
    let mut everything = Vec::new();
    if endpoint.format == "table" {
        println!("ID\tSCHEMA\tSTATE\tADDRESS");
    }
    loop {
        let mut request = http
            .get(format!("{base}/admin/identities"))
            .query(&[("page_size", page_size.to_string())]);
        if let Some(token) = &token {
            request = request.query(&[("page_token", token)]);
        }
        let response = request.send().await.context("calling the admin API")?;
        if !response.status().is_success() {
            bail!("listing failed: {}", error_text(response).await);
        }
        let next = next_token(&response);
        let page: Vec<Value> = response.json().await?;
        if endpoint.format == "table" {
            for identity in &page {
                println!(
                    "{}\t{}\t{}\t{}",
                    identity["id"].as_str().unwrap_or_default(),
                    identity["schema_id"].as_str().unwrap_or_default(),
                    identity["state"].as_str().unwrap_or_default(),
                    identifiers(identity)
                );
            }
        } else {
            everything.extend(page);
        }
        match next {
            Some(next) if all => token = Some(next),
            Some(next) => {
                if endpoint.format == "table" {
                    println!("NEXT PAGE TOKEN\t{next}");
                } else {
                    eprintln!("next page token: {next}");
                }
                break;
            }
            None => break,
        }
    }
    if endpoint.format != "table" {
        print(&Value::Array(everything), &endpoint.format)?;
    }
    Ok(())
}

/// `bia get identity ID...`
pub async fn get_identities(ids: &[String], include: &[String], endpoint: &Endpoint) -> Result<()> {
    let base = base_url(endpoint)?;
    let http = client()?;
    let mut found = Vec::new();
    for id in ids {
        let mut request = http.get(format!("{base}/admin/identities/{id}"));
        for kind in include {
            request = request.query(&[("include_credential", kind)]);
        }
        let response = request.send().await.context("calling the admin API")?;
        if !response.status().is_success() {
            bail!("identity {id}: {}", error_text(response).await);
        }
        found.push(response.json::<Value>().await?);
    }
    let value = if found.len() == 1 {
        found.remove(0)
    } else {
        Value::Array(found)
    };
    let format = if endpoint.format == "table" {
        "json-pretty"
    } else {
        &endpoint.format
    };
    print(&value, format)
}

/// `bia delete identity ID...`
pub async fn delete_identities(ids: &[String], endpoint: &Endpoint) -> Result<()> {
    let base = base_url(endpoint)?;
    let http = client()?;
    let mut failed = 0;
    for id in ids {
        let response = http
            .delete(format!("{base}/admin/identities/{id}"))
            .send()
            .await
            .context("calling the admin API")?;
        if response.status().is_success() {
            println!("{id}");
        } else {
            failed += 1;
            eprintln!("identity {id}: {}", error_text(response).await);
        }
    }
    if failed > 0 {
        bail!("{failed} identities could not be deleted");
    }
    Ok(())
}
