//! Rendering a flake from a parsed config (goal: under 20 µs).

use criterion::{Criterion, criterion_group, criterion_main};
use pilot_nix::{Catalog, render_flake};

fn config(text: &str) -> pilot_core::AppConfig {
    pilot_core::config::parse(text).expect("bench configs are valid")
}

fn render(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let cases = [
        (
            "python series",
            config(
                r#"{"name": "hello", "type": "python", "runtime": {"python": "3.11"},
                    "build": {"commands": ["python3 -m py_compile app.py"]},
                    "start": {"command": "exec python3 app.py"}, "env": {"GREETING": "hello"}}"#,
            ),
        ),
        (
            "laravel exact pins",
            config(
                r#"{"name": "My Laravel App", "type": "laravel",
                    "runtime": {"php": "8.2.14", "node": "20.11.1"},
                    "build": {"commands": ["composer install --no-dev", "npm ci", "npm run build"]},
                    "start": {"command": "php artisan serve --host=127.0.0.1 --port=$PORT"},
                    "env": {"APP_ENV": "production", "DB_PASSWORD": "{{DB_PASSWORD}}", "APP_KEY": "{{APP_KEY}}"}}"#,
            ),
        ),
    ];
    let mut group = c.benchmark_group("render_flake");
    for (name, config) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| render_flake(std::hint::black_box(config), catalog).map(|f| f.text.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
