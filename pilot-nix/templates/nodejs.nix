{#- Node.js: node brings npm and npx. -#}
{% extends "flake.nix" %}
