//! Checks the built-in `catalog.toml` so that a broken catalog fails the build
//! instead of a deploy.

#[path = "src/catalog/data.rs"]
#[allow(dead_code)]
mod data;

fn main() {
    println!("cargo:rerun-if-changed=catalog.toml");
    println!("cargo:rerun-if-changed=src/catalog/data.rs");
    let text = match std::fs::read_to_string("catalog.toml") {
        Ok(text) => text,
        Err(e) => {
            println!("cargo::error=cannot read catalog.toml: {e}");
            std::process::exit(1);
        }
    };
    if let Err(problems) = data::parse(&text) {
        for problem in problems {
            println!("cargo::error=catalog.toml: {problem}");
        }
        std::process::exit(1);
    }
}
