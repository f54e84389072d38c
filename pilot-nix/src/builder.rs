//! [`FlakeBuilder`]: `nix build` of the release's package (custom flakes and
//! the generated launcher), with Nix's log streamed line by line and a GC
//! root kept in the release, then the config's build commands.

use std::sync::Arc;

use async_trait::async_trait;
use pilot_core::builder::BuildContext;
use pilot_core::{Builder, CommandsBuilder};
use tracing::Instrument;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::nix::{NixCall, NixFailure, NixOptions, ReleaseNixDir};
use crate::release_flake::ReleaseFlake;

/// The `Builder` that builds a release's flake package.
///
/// `packages.<system>.default` is built with `--out-link
/// .pilot/nix/result`: every kept release holds a GC root of its build, so a
/// rollback never rebuilds, and a pruned release's build becomes garbage.
/// A custom flake without that package is only checked. The config's
/// `build.commands` and `test.command` then run as with [`CommandsBuilder`].
#[derive(Debug, Clone)]
pub struct FlakeBuilder {
    options: NixOptions,
    catalog: Arc<Catalog>,
}

impl Default for FlakeBuilder {
    fn default() -> Self {
        Self::new(NixOptions::default())
    }
}

impl FlakeBuilder {
    /// A builder with the built-in catalog.
    pub fn new(options: NixOptions) -> Self {
        FlakeBuilder {
            options,
            catalog: Arc::new(Catalog::builtin().clone()),
        }
    }

    /// Uses another catalog (must be the runtime's, for template apps).
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Arc::new(catalog);
        self
    }

    /// Builds the release's package, if its flake has one; returns whether it did.
    pub async fn build_package(&self, ctx: &BuildContext<'_>) -> Result<bool> {
        let flake =
            ReleaseFlake::prepare(ctx.release_dir, ctx.config, &self.catalog, &self.options)
                .await?;
        let release_dir = std::fs::canonicalize(ctx.release_dir)
            .map_err(|e| pilot_core::Error::io("open release directory", ctx.release_dir, e))?;
        let dir = ReleaseNixDir::new(&release_dir);
        let attribute = format!("packages.{}.default", self.options.system);
        if flake.custom && !self.has_output(&flake, &attribute, &dir).await? {
            ctx.output.line(
                pilot_core::output::Stream::Stdout,
                &format!("the flake has no {attribute}; nothing to build with nix"),
            );
            return Ok(false);
        }
        let mut args = vec![
            "build".to_string(),
            "--print-build-logs".to_string(),
            "--out-link".to_string(),
            dir.build_root().display().to_string(),
        ];
        args.extend(self.options.flake_flags());
        args.push(flake.output(&attribute));
        let call = NixCall::nix(&self.options, args).stream_to(ctx.output, ctx.redactor);
        ctx.output.line(
            pilot_core::output::Stream::Stdout,
            &format!("$ {}", call.describe()),
        );
        call.run(&dir.build_log()).await?;
        Ok(true)
    }

    /// Whether the flake evaluates `attribute` (missing outputs are `false`,
    /// other errors are errors).
    async fn has_output(
        &self,
        flake: &ReleaseFlake,
        attribute: &str,
        dir: &ReleaseNixDir,
    ) -> Result<bool> {
        let (set, name) = attribute.rsplit_once('.').unwrap_or(("", attribute));
        let mut args = vec![
            "eval".to_string(),
            "--json".to_string(),
            "--apply".to_string(),
            format!("s: builtins.hasAttr {} s", crate::escape::nix_string(name)),
        ];
        args.extend(self.options.flake_flags());
        args.push(flake.output(set));
        match NixCall::nix(&self.options, args)
            .run(&dir.root().join("eval.log"))
            .await
        {
            Ok(out) => Ok(out.trim() == "true"),
            Err(Error::NixFailed { failure, .. })
                if matches!(*failure, NixFailure::MissingAttribute { .. }) =>
            {
                Ok(false)
            }
            Err(Error::NixFailed { failure, .. })
                if failure.to_string().contains("does not provide attribute") =>
            {
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }
}

#[async_trait]
impl Builder for FlakeBuilder {
    fn name(&self) -> &'static str {
        "flake"
    }

    async fn build(&self, ctx: &BuildContext<'_>) -> pilot_core::Result<()> {
        let span = tracing::info_span!("flake_build", release = %ctx.release_dir.display());
        self.build_package(ctx)
            .instrument(span)
            .await
            .map_err(|e| e.into_core(ctx.log_file))?;
        CommandsBuilder.build(ctx).await
    }

    async fn test(&self, ctx: &BuildContext<'_>) -> pilot_core::Result<()> {
        CommandsBuilder.test(ctx).await
    }
}
