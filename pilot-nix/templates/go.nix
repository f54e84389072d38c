{#- Go: the go toolchain brings gofmt and the module tools. -#}
{% extends "flake.nix" %}
