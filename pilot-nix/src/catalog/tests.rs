use pilot_core::config::{Language, is_supported_version, supported_versions};
use proptest::prelude::*;

use super::*;

#[test]
fn every_series_core_accepts_maps_to_a_nixpkgs_attribute() {
    let catalog = Catalog::builtin();
    for language in Language::ALL {
        assert_eq!(
            catalog.series(language),
            supported_versions(language),
            "{language}: the catalog and pilot-core list different series"
        );
        for series in supported_versions(language) {
            let resolved = catalog.resolve(language, series).unwrap();
            assert_eq!(resolved.package.input, "nixpkgs", "{language} {series}");
            assert_eq!(resolved.package.set, PackageSet::LegacyPackages);
            assert!(resolved.check_version.is_none());
        }
    }
}

#[test]
fn every_exact_release_core_accepts_maps_to_an_exact_input() {
    let catalog = Catalog::builtin();
    for language in Language::ALL {
        for series in supported_versions(language) {
            let dots = series.matches('.').count();
            let suffixes: &[&str] = if dots == 0 {
                &[".0.0", ".11.1", ".20.2"]
            } else {
                &[".0", ".7", ".14"]
            };
            for suffix in suffixes {
                let version = format!("{series}{suffix}");
                assert!(is_supported_version(language, &version), "{version}");
                let resolved = catalog.resolve(language, &version).unwrap();
                let input = &resolved.package.input;
                assert!(
                    input == "nixpkgs" || catalog.input_url(input).is_some(),
                    "{language} {version}: input {input} is not declared"
                );
                assert!(
                    resolved.package.input != "nixpkgs" || resolved.check_version.is_some(),
                    "{language} {version}: a nixpkgs series attribute must be version-checked"
                );
            }
        }
    }
}

#[test]
fn exact_releases_use_the_community_attribute_names() {
    let catalog = Catalog::builtin();
    let python = catalog.resolve(Language::Python, "3.11.7").unwrap();
    assert_eq!(python.package.attribute, "3.11.7");
    let ruby = catalog.resolve(Language::Ruby, "3.2.2").unwrap();
    assert_eq!(
        (ruby.package.input.as_str(), ruby.package.attribute.as_str()),
        ("nixpkgs-ruby", "ruby-3.2.2")
    );
    let php = catalog.resolve(Language::Php, "8.2.14").unwrap();
    assert_eq!(
        (php.package.input.as_str(), php.package.attribute.as_str()),
        ("phps", "php82")
    );
    assert_eq!(php.check_version.as_deref(), Some("8.2.14"));
    let go = catalog.resolve(Language::Go, "1.22.5").unwrap();
    assert_eq!(go.package.attribute, "go_1_22");
    let node = catalog.resolve(Language::Node, "20.11.1").unwrap();
    assert_eq!(node.package.attribute, "nodejs_20");
}

#[test]
fn unsupported_versions_list_the_supported_ones() {
    let err = Catalog::builtin()
        .resolve(Language::Node, "19")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "node 19 is not supported; supported node versions are \"18\", \"20\", \"22\", \
         or an exact release of one of them such as \"20.1.0\""
    );
}

#[test]
fn inputs_are_declared_once_each() {
    let catalog = Catalog::builtin();
    let runtimes = [
        catalog.resolve(Language::Python, "3.11.7").unwrap(),
        catalog.resolve(Language::Python, "3.12.1").unwrap(),
        catalog.resolve(Language::Node, "20").unwrap(),
        catalog.resolve(Language::Ruby, "3.2.2").unwrap(),
    ];
    let names: Vec<String> = catalog
        .inputs_for(&runtimes)
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["nixpkgs-python", "nixpkgs-ruby"]);
}

#[test]
fn broken_catalogs_report_every_problem() {
    let text = r#"
        [nixpkgs]
        url = ""
        [inputs.extra]
        url = "github:a/b"
        [languages.node]
        series = { "x" = "nodejs 20" }
        exact = { input = "nowhere", attribute = "{patch}" }
        [languages.cobol]
        series = { "1" = "cobol" }
        exact = { input = "nixpkgs", attribute = "cobol" }
    "#;
    let err = Catalog::from_toml(text).unwrap_err().to_string();
    for needle in [
        "the url of input nixpkgs",
        "language php is missing",
        "unknown language \"cobol\"",
        "\"x\" is not a `major` or `major.minor` series",
        "\"nodejs 20\" is not a Nix attribute name",
        "\"nowhere\" is neither",
        "\"{patch}\" must be a Nix attribute name",
    ] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
}

#[test]
fn builtin_catalog_text_is_what_the_build_checked() {
    assert!(data::parse(BUILTIN_TOML).is_ok());
    assert!(
        Catalog::builtin()
            .nixpkgs_url()
            .starts_with("github:NixOS/nixpkgs/")
    );
}

fn any_version() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}",
        "[0-9]{1,2}\\.[0-9]{1,2}",
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,3}",
        "[0-9.x]{0,9}",
    ]
}

proptest! {
    #[test]
    fn the_catalog_accepts_exactly_what_core_accepts(version in any_version(), index in 0usize..5) {
        let language = Language::ALL[index];
        let core = is_supported_version(language, &version);
        let nix = Catalog::builtin().resolve(language, &version).is_ok();
        prop_assert_eq!(core, nix, "{} {:?}", language, version);
    }
}
