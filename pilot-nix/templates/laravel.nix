{#- Laravel: PHP with Composer, and Node.js when the config asks for it (assets). -#}
{% extends "flake.nix" %}
{%- block tools %}php.packages.composer {% endblock %}
