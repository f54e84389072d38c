{#- Python: the interpreter and pip (use a virtualenv for dependencies). -#}
{% extends "flake.nix" %}
{%- block tools %}python.pkgs.pip {% endblock %}
