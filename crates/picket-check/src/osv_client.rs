//! Asking an OSV API (`scan --osv-url`) for the advisories of the projects being scanned, instead of
//! the database imported into the data directory: one `POST /v1/query` per project (no version, so
//! every record naming it comes back, pages followed), answered records matched locally exactly as
//! imported ones are. Any OSV service works: `picket serve`'s own, or another.
//!
//! A failure to get an answer fails the scan: no answer is never reported as "no advisories".

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use picket_osv::Database;
use serde_json::{Value, json};

/// The largest answer accepted for one query.
const MAX_ANSWER_BYTES: u64 = 64 << 20;
/// Most pages followed for one project.
const MAX_PAGES: usize = 100;

/// The `/v1/query` endpoint of an OSV API given as its root (`http://host:port`), its `/v1`, or
/// the query URL itself (as pip-audit's `--osv-url` takes it).
pub fn query_url(api: &str) -> anyhow::Result<String> {
    let trimmed = api.trim().trim_end_matches('/');
    if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
        bail!("--osv-url `{api}` is not an http(s) URL");
    }
    let root = trimmed
        .strip_suffix("/v1/query")
        .or_else(|| trimmed.strip_suffix("/v1"))
        .unwrap_or(trimmed);
    Ok(format!("{root}/v1/query"))
}

/// The records naming any of `names`, from the OSV API at `api`, asked `jobs` at a time.
pub fn fetch<'a>(
    api: &str,
    names: impl IntoIterator<Item = &'a str>,
    jobs: usize,
) -> anyhow::Result<Database> {
    let url = query_url(api)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_mins(1)))
        .timeout_connect(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("picket/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut unique: Vec<String> = names
        .into_iter()
        .map(picket_formats::normalize)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    unique.sort();
    let queue = Mutex::new(unique.into_iter());
    let answers: Mutex<Vec<Value>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .next();
                        let Some(name) = next else { return Ok(()) };
                        let records = query_project(&agent, &url, &name)?;
                        answers
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .extend(records);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("an OSV query thread panicked"))??;
        }
        Ok(())
    })?;
    let mut db = Database::default();
    let mut seen = HashSet::new();
    for record in answers
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        let id = record["id"].as_str().unwrap_or_default().to_owned();
        // A record naming several scanned projects comes back once for each.
        if seen.insert(id.clone()) {
            let bytes = serde_json::to_vec(&record)?;
            db.add_json(&format!("{url} ({id})"), &bytes)
                .with_context(|| format!("a record {url} answered"))?;
        }
    }
    Ok(db)
}

/// Every record naming `name`, following `next_page_token`.
fn query_project(agent: &ureq::Agent, url: &str, name: &str) -> anyhow::Result<Vec<Value>> {
    let mut records = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = json!({ "package": { "name": name, "ecosystem": "PyPI" } });
        if let Some(t) = &token {
            query["page_token"] = t.clone().into();
        }
        let mut response = agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(query.to_string().as_bytes())
            .map_err(|e| anyhow::anyhow!("no answer from the OSV API at {url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| anyhow::anyhow!("{url}: reading the answer about `{name}`: {e}"))?;
        if status != 200 {
            bail!(
                "the OSV API at {url} answered HTTP {status} about `{name}`: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        let mut answer: Value = serde_json::from_slice(&body)
            .with_context(|| format!("{url}: the answer about `{name}` is not JSON"))?;
        match answer.get_mut("vulns").map(Value::take) {
            None | Some(Value::Null) => {}
            Some(Value::Array(vulns)) => records.extend(vulns),
            Some(_) => bail!("{url}: `vulns` in the answer about `{name}` is not a list"),
        }
        token = answer["next_page_token"].as_str().map(str::to_owned);
        if token.is_none() {
            return Ok(records);
        }
    }
    bail!("{url}: more than {MAX_PAGES} pages of advisories about `{name}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_url_is_found_from_any_of_its_spellings() {
        for given in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8080/v1/query",
        ] {
            assert_eq!(query_url(given).unwrap(), "http://127.0.0.1:8080/v1/query");
        }
        assert!(query_url("127.0.0.1:8080").is_err());
    }
}
