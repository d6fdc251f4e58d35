//! Wheel inspection throughput on a multi-MB wheel shaped like a real one: a few hundred Python
//! modules and a native extension-sized binary. Throughput is archive bytes per second.
#![allow(missing_docs)]

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_inspect::{Limits, inspect_bytes};

fn python_module(index: usize) -> Vec<u8> {
    let mut text = format!("\"\"\"Module {index}.\"\"\"\n\nimport os\nimport sys\n\n");
    for f in 0..40 {
        let _ = write!(
            text,
            "def function_{index}_{f}(value, *, scale={f}):\n    # scale the value\n    result = value * scale + {index}\n    if result > {f}00:\n        return os.fspath(str(result))\n    return sys.intern(str(result))\n\n"
        );
    }
    text.into_bytes()
}

fn big_wheel() -> Vec<u8> {
    let modules: Vec<(String, Vec<u8>)> = (0..400)
        .map(|i| (format!("bigpkg/sub{}/mod{i}.py", i % 20), python_module(i)))
        .collect();
    let mut native = b"\x7fELF\x02\x01\x01".to_vec();
    native.extend(picket_testkit::noise(2 << 20, 1));
    let mut files: Vec<(&str, &[u8])> = modules
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    files.push(("bigpkg/_native.cpython-311-x86_64-linux-gnu.so", &native));
    picket_testkit::wheel("bigpkg", "1.0", &files)
}

fn bench(c: &mut Criterion) {
    let wheel = big_wheel();
    let inventory = inspect_bytes("bigpkg-1.0-py3-none-any.whl", &wheel, &Limits::default())
        .expect("the bench wheel is well formed");
    eprintln!(
        "bench wheel: {} bytes, {} uncompressed, {} entries",
        wheel.len(),
        inventory.uncompressed_size,
        inventory.entries.len()
    );
    let mut group = c.benchmark_group("inspect");
    group.throughput(Throughput::Bytes(wheel.len() as u64));
    group.sample_size(30);
    group.bench_function("wheel", |b| {
        b.iter(|| inspect_bytes("bigpkg-1.0-py3-none-any.whl", &wheel, &Limits::default()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
