{#- Ruby: the interpreter brings gem and bundler. -#}
{% extends "flake.nix" %}
