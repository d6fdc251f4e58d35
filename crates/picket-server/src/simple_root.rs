//! The `/simple/` root list at registry scale, kept in parts.
//!
//! PyPI's root list names about 900,000 projects: tens of megabytes of HTML or JSON. Rendering it
//! again, and compressing it again, for every new project would make each upload cost seconds. So
//! the list is kept in *shards* — the projects whose normalized names share their first two
//! characters — each rendered once in both formats, raw and as a byte-aligned deflate segment. A
//! change to a project marks only its shard stale; the next request re-reads and re-renders that
//! shard alone. A response is the shards' bytes in order between a fixed head and tail; the gzip
//! answer is one gzip member made of the shards' deflate segments (each ended with a sync flush,
//! so they concatenate), an empty final block, and the CRC-32 combined from the shards' own.
//!
//! Nothing is read at start: the first request builds every shard from one query.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress};

use crate::simple::{API_VERSION, escape};

/// The shard of a normalized name: its first two characters.
pub fn shard_key(normalized: &str) -> &str {
    let end = normalized
        .char_indices()
        .nth(2)
        .map_or(normalized.len(), |(i, _)| i);
    &normalized[..end]
}

/// Bytes in one format, raw and as a deflate segment ending on a byte boundary, not final.
struct Part {
    raw: Bytes,
    deflate: Bytes,
    crc: Crc,
}

impl Part {
    fn new(raw: Vec<u8>) -> Self {
        let mut compress = Compress::new(Compression::default(), false);
        let mut deflate = Vec::with_capacity(raw.len() / 4 + 64);
        let mut input = &raw[..];
        loop {
            if deflate.capacity() - deflate.len() < 64 {
                deflate.reserve(deflate.len().max(1024));
            }
            let before = compress.total_in();
            compress
                .compress_vec(input, &mut deflate, FlushCompress::Sync)
                .expect("deflate into memory");
            let read = usize::try_from(compress.total_in() - before).unwrap_or(input.len());
            input = &input[read..];
            // zlib's rule: a flush is complete once a call leaves output space unused.
            if input.is_empty() && deflate.len() < deflate.capacity() {
                break;
            }
        }
        let mut crc = Crc::new();
        crc.update(&raw);
        Self {
            raw: raw.into(),
            deflate: deflate.into(),
            crc,
        }
    }
}

/// One shard in both formats. The JSON part is its entries joined by commas.
struct Shard {
    html: Part,
    json: Part,
}

impl Shard {
    fn render(projects: &[(String, String)]) -> Self {
        let mut html = String::new();
        let mut json = String::new();
        for (name, normalized) in projects {
            html.push_str("    <a href=\"/simple/");
            html.push_str(&escape(normalized));
            html.push_str("/\">");
            html.push_str(&escape(name));
            html.push_str("</a><br />\n");
            if !json.is_empty() {
                json.push(',');
            }
            json.push_str(&serde_json::json!({ "name": name }).to_string());
        }
        Self {
            html: Part::new(html.into_bytes()),
            json: Part::new(json.into_bytes()),
        }
    }
}

/// A whole answer in one format: the pieces of its body, raw and gzip.
#[derive(Clone)]
pub struct Assembled {
    /// The raw body's pieces.
    pub raw: Vec<Bytes>,
    /// The gzip body's pieces.
    pub gzip: Vec<Bytes>,
    /// Its `ETag` (quoted), the same for both encodings of one content.
    pub etag: String,
}

impl Assembled {
    fn new(head: &Part, parts: &[&Part], separator: Option<&Part>, tail: &Part) -> Self {
        let mut all: Vec<&Part> = vec![head];
        for (i, p) in parts.iter().enumerate() {
            if i > 0
                && let Some(s) = separator
            {
                all.push(s);
            }
            all.push(p);
        }
        all.push(tail);
        let mut crc = Crc::new();
        let mut digest = sha2::Sha256::default();
        let mut gzip = vec![Bytes::from_static(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
        for p in &all {
            crc.combine(&p.crc);
            sha2::Digest::update(&mut digest, p.crc.sum().to_le_bytes());
            sha2::Digest::update(&mut digest, p.crc.amount().to_le_bytes());
            gzip.push(p.deflate.clone());
        }
        // A final empty fixed-Huffman block, then CRC-32 and length mod 2^32.
        let mut trailer = vec![0x03, 0x00];
        trailer.extend_from_slice(&crc.sum().to_le_bytes());
        trailer.extend_from_slice(&crc.amount().to_le_bytes());
        gzip.push(trailer.into());
        let hash = sha2::Digest::finalize(digest);
        Self {
            raw: all.iter().map(|p| p.raw.clone()).collect(),
            gzip,
            etag: format!("\"{}\"", &picket_store::sha256_hex(&hash)[..32]),
        }
    }
}

#[derive(Default)]
struct State {
    /// `None` until the first request built them.
    shards: Option<BTreeMap<String, Arc<Shard>>>,
    stale: BTreeSet<String>,
    /// Bumped by every change, so a rebuild that raced one doesn't hide it.
    generation: u64,
    answer: Option<Arc<(Assembled, Assembled, String)>>,
}

/// The root list's shards and the last assembled answer.
#[derive(Default)]
pub struct RootIndex {
    state: RwLock<State>,
    /// One rebuild at a time; requests meanwhile wait for its result.
    rebuilding: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RootIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootIndex").finish_non_exhaustive()
    }
}

struct Fixed {
    html_head: Part,
    html_tail: Part,
    json_head: Part,
    json_tail: Part,
    comma: Part,
}

fn fixed() -> &'static Fixed {
    static FIXED: std::sync::OnceLock<Fixed> = std::sync::OnceLock::new();
    FIXED.get_or_init(|| Fixed {
        html_head: Part::new(
            format!(
                "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n    <title>Simple index</title>\n  </head>\n  <body>\n"
            )
            .into_bytes(),
        ),
        html_tail: Part::new(b"  </body>\n</html>\n".to_vec()),
        json_head: Part::new(
            format!("{{\"meta\":{{\"api-version\":\"{API_VERSION}\"}},\"projects\":[").into_bytes(),
        ),
        json_tail: Part::new(b"]}".to_vec()),
        comma: Part::new(b",".to_vec()),
    })
}

fn lock<T>(r: std::sync::LockResult<T>) -> T {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RootIndex {
    /// Marks the shard of `normalized` stale.
    pub fn invalidate(&self, normalized: &str) {
        let mut state = lock(self.state.write());
        state.generation += 1;
        state.answer = None;
        if state.shards.is_some() {
            state.stale.insert(shard_key(normalized).to_owned());
        }
    }

    /// Drops every shard: the next request rebuilds the list.
    pub fn clear(&self) {
        let mut state = lock(self.state.write());
        state.generation += 1;
        state.answer = None;
        state.shards = None;
        state.stale.clear();
    }

    /// The answer in HTML and JSON, and its `Last-Modified`, rebuilding what changed with
    /// `read(from, to)` (the projects whose normalized names sort in `[from, to)`).
    pub async fn answer<F, Fut, E>(&self, read: F) -> Result<Arc<(Assembled, Assembled, String)>, E>
    where
        F: Fn(String, Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(String, String)>, E>>,
    {
        if let Some(answer) = &lock(self.state.read()).answer {
            return Ok(answer.clone());
        }
        let _rebuilding = self.rebuilding.lock().await;
        let (generation, todo) = {
            let state = lock(self.state.read());
            if let Some(answer) = &state.answer {
                return Ok(answer.clone());
            }
            let todo: Option<Vec<String>> = state
                .shards
                .as_ref()
                .map(|_| state.stale.iter().cloned().collect());
            (state.generation, todo)
        };
        let mut fresh: Vec<(String, Option<Arc<Shard>>)> = Vec::new();
        let rebuilt_all = todo.is_none();
        match todo {
            // Read one first-character range at a time, so that no more than one range's rows
            // are held, and group in Rust in byte order: a database collation other than C
            // (PostgreSQL's `en_US`, say, which passes over `-`) orders within a range
            // differently, but never moves a name to another first character.
            None => {
                for (from, to) in ranges() {
                    let projects = read_sorted(&read, from, to).await?;
                    for (key, group) in groups(&projects) {
                        fresh.push((key.to_owned(), Some(Arc::new(Shard::render(group)))));
                    }
                }
            }
            Some(keys) => {
                let mut by_range: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
                for key in keys {
                    by_range.entry(range_of(&key)).or_default().push(key);
                }
                for ((from, to), keys) in by_range {
                    let projects = read_sorted(&read, from, to).await?;
                    let found: BTreeMap<&str, &[(String, String)]> = groups(&projects).collect();
                    for key in keys {
                        let shard = found.get(key.as_str()).map(|g| Arc::new(Shard::render(g)));
                        fresh.push((key, shard));
                    }
                }
            }
        }
        let mut state = lock(self.state.write());
        // A full build that raced a change (which, with no parts yet, marked nothing stale) is
        // answered but not kept: the next request builds again.
        if rebuilt_all && state.generation == generation {
            state.shards = Some(BTreeMap::new());
        }
        let current = state.generation == generation;
        let Some(shards) = state.shards.as_mut().filter(|_| !rebuilt_all || current) else {
            // Cleared meanwhile (or a raced full build): answer from what was read, build
            // again on the next request.
            let shards: BTreeMap<String, Arc<Shard>> = fresh
                .into_iter()
                .filter_map(|(k, s)| s.map(|s| (k, s)))
                .collect();
            return Ok(Arc::new(assemble(&shards)));
        };
        for (key, shard) in fresh {
            match shard {
                Some(s) => shards.insert(key, s),
                None => shards.remove(&key),
            };
        }
        let answer = Arc::new(assemble(shards));
        if state.generation == generation {
            state.stale.clear();
            state.answer = Some(answer.clone());
        }
        Ok(answer)
    }
}

/// The ranges the root list is read in: one per first character a normalized name can start with
/// (a digit or a letter), and before and after them whatever else there is.
fn ranges() -> Vec<(String, Option<String>)> {
    let bounds: Vec<String> = ('0'..='9').chain('a'..='z').map(String::from).collect();
    let mut out = Vec::with_capacity(bounds.len() + 1);
    let mut from = String::new();
    for to in bounds.into_iter().map(Some).chain([None]) {
        out.push((from, to.clone()));
        from = to.unwrap_or_default();
    }
    out
}

/// The range of [`ranges`] holding the shard `key`.
fn range_of(key: &str) -> (String, Option<String>) {
    ranges()
        .into_iter()
        .find(|(from, to)| key >= from.as_str() && to.as_deref().is_none_or(|t| key < t))
        .unwrap_or_default()
}

/// A range's projects, in byte order of their normalized names.
async fn read_sorted<F, Fut, E>(
    read: &F,
    from: String,
    to: Option<String>,
) -> Result<Vec<(String, String)>, E>
where
    F: Fn(String, Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(String, String)>, E>>,
{
    let mut projects = read(from, to).await?;
    projects.sort_unstable_by(|a, b| a.1.cmp(&b.1));
    Ok(projects)
}

/// Sorted projects grouped by shard.
fn groups(projects: &[(String, String)]) -> impl Iterator<Item = (&str, &[(String, String)])> {
    projects
        .chunk_by(|a, b| shard_key(&a.1) == shard_key(&b.1))
        .map(|g| (shard_key(&g[0].1), g))
}

fn assemble(shards: &BTreeMap<String, Arc<Shard>>) -> (Assembled, Assembled, String) {
    let f = fixed();
    let html: Vec<&Part> = shards.values().map(|s| &s.html).collect();
    let json: Vec<&Part> = shards.values().map(|s| &s.json).collect();
    (
        Assembled::new(&f.html_head, &html, None, &f.html_tail),
        Assembled::new(&f.json_head, &json, Some(&f.comma), &f.json_tail),
        httpdate::fmt_http_date(std::time::SystemTime::now()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn names(n: usize) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = (0..n)
            .map(|i| {
                let name = format!(
                    "{}{}-Pkg_{i}",
                    char::from(b'a' + u8::try_from(i % 26).unwrap()),
                    i % 7
                );
                (name.clone(), picket_formats::normalize(&name))
            })
            .chain([
                ("x".to_owned(), "x".to_owned()),
                ("A&B".into(), "a-b".into()),
            ])
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    }

    fn body(pieces: &[Bytes]) -> Vec<u8> {
        pieces.iter().flat_map(|b| b.iter().copied()).collect()
    }

    fn gunzip(pieces: &[Bytes]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body(pieces)[..])
            .read_to_end(&mut out)
            .expect("one valid gzip member");
        out
    }

    async fn answer(
        index: &RootIndex,
        all: &[(String, String)],
        reads: &std::sync::atomic::AtomicUsize,
    ) -> Arc<(Assembled, Assembled, String)> {
        index
            .answer(|from, to| {
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // In reverse: the database's collation may order a range otherwise than bytes.
                let rows: Vec<(String, String)> = all
                    .iter()
                    .rev()
                    .filter(|(_, n)| *n >= from && to.as_ref().is_none_or(|t| n < t))
                    .cloned()
                    .collect();
                async move { Ok::<_, ()>(rows) }
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn shards_assemble_into_the_whole_list_and_a_change_rereads_one_shard() {
        let mut all = names(3000);
        let index = RootIndex::default();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let first = answer(&index, &all, &reads).await;
        let json: serde_json::Value = serde_json::from_slice(&body(&first.1.raw)).unwrap();
        assert_eq!(json["projects"].as_array().unwrap().len(), all.len());
        assert_eq!(json["meta"]["api-version"], API_VERSION);
        assert_eq!(gunzip(&first.1.gzip), body(&first.1.raw));
        let html = String::from_utf8(gunzip(&first.0.gzip)).unwrap();
        assert_eq!(html.as_bytes(), &body(&first.0.raw)[..]);
        assert_eq!(html.matches("<a href=").count(), all.len());
        assert!(
            html.contains("<a href=\"/simple/a-b/\">A&amp;B</a>"),
            "escaped"
        );
        // Built in ranges of one first character each (37 reads), none twice.
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 37);

        // Unchanged: served from memory.
        let again = answer(&index, &all, &reads).await;
        assert_eq!(
            (
                again.0.etag.clone(),
                reads.load(std::sync::atomic::Ordering::Relaxed)
            ),
            (first.0.etag.clone(), 37)
        );

        // A new project: one shard read again, the list has it, the ETag changed.
        all.push(("b9-new".into(), "b9-new".into()));
        all.sort_by(|a, b| a.1.cmp(&b.1));
        index.invalidate("b9-new");
        let changed = answer(&index, &all, &reads).await;
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 38);
        assert_ne!(changed.1.etag, first.1.etag);
        let json: serde_json::Value = serde_json::from_slice(&gunzip(&changed.1.gzip)).unwrap();
        let listed: Vec<&str> = json["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, expected);

        // The last project of a shard gone (a one-character shard): the shard is dropped.
        all.retain(|(_, n)| n != "x");
        index.invalidate("x");
        let gone = answer(&index, &all, &reads).await;
        let json: serde_json::Value = serde_json::from_slice(&body(&gone.1.raw)).unwrap();
        assert_eq!(json["projects"].as_array().unwrap().len(), all.len());

        // Cleared: everything read again.
        index.clear();
        let rebuilt = answer(&index, &all, &reads).await;
        assert_eq!(rebuilt.1.etag, gone.1.etag);
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 39 + 37);

        // A change during a first build: that build is answered but not kept.
        let racing = RootIndex::default();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let read = |from: String, to: Option<String>| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
                racing.invalidate("b9-new");
            }
            let rows: Vec<(String, String)> = all
                .iter()
                .filter(|(_, n)| *n >= from && to.as_ref().is_none_or(|t| n < t))
                .cloned()
                .collect();
            async move { Ok::<_, ()>(rows) }
        };
        racing.answer(read).await.unwrap();
        racing.answer(read).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 2 * 37);
        racing.answer(read).await.unwrap();
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::Relaxed),
            2 * 37,
            "kept"
        );

        // An empty index is a valid page too.
        let empty = RootIndex::default();
        let page = answer(&empty, &[], &reads).await;
        let json: serde_json::Value = serde_json::from_slice(&gunzip(&page.1.gzip)).unwrap();
        assert_eq!(json["projects"], serde_json::json!([]));
    }
}
