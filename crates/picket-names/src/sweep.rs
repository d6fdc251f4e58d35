//! Sweeping a whole index: every name checked against the popular ones, on every core.

use serde::Serialize;

use crate::index::NameIndex;
use crate::squat::{SquatDetector, SquatMatch};

/// A name the sweep found imitating a popular one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    /// The suspect name (normalized).
    pub name: String,
    /// Its own rank, if ranked.
    pub rank: Option<u32>,
    /// The strongest match; [`Suspect::matches`] has all.
    pub confidence: f32,
    /// Every popular name it imitates, strongest first.
    pub matches: Vec<SquatMatch>,
}

/// Checks every name of `index` against `detector` with `threads` threads and returns the suspects,
/// most confident first. `progress` is called now and then with the number of names done.
pub fn sweep(
    index: &NameIndex,
    detector: &SquatDetector,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Suspect> {
    let mut names: Vec<(String, Option<u32>)> = Vec::with_capacity(index.len());
    index.for_each(|name, info| names.push((name.to_owned(), info.rank)));
    let threads = threads.max(1);
    let chunk = names.len().div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut suspects: Vec<Suspect> = std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for (i, (name, rank)) in part.iter().enumerate() {
                        let matches = detector.check(name, *rank);
                        if let Some(best) = matches.first() {
                            found.push(Suspect {
                                name: name.clone(),
                                rank: *rank,
                                confidence: best.confidence,
                                matches,
                            });
                        }
                        if i % 4096 == 4095 {
                            let total =
                                done.fetch_add(4096, std::sync::atomic::Ordering::Relaxed) + 4096;
                            progress(total);
                        }
                    }
                    found
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("sweep worker panicked"))
            .collect()
    });
    progress(names.len());
    suspects.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.cmp(&b.name))
    });
    suspects
}
