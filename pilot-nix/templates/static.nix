{#- Static sites: only the runtimes the config asks for (e.g. node to build assets). -#}
{% extends "flake.nix" %}
