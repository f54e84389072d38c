{#- Django: the interpreter and pip; Django itself comes from the app's requirements. -#}
{% extends "flake.nix" %}
{%- block tools %}python.pkgs.pip {% endblock %}
