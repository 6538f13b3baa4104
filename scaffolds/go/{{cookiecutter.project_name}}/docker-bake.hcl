{% extends "docker-bake.hcl.jinja" %}
{# The body is shared by the three scaffolds: templates/docker-bake.hcl.jinja. #}
{% block multi_platform_note -%}
# Both platforms from one build machine (Go cross-compiles). A multi-platform image cannot be
# loaded into the local image store: push it (`--push`) or export it
# (`--set *.output=type=oci,dest=img.tar`).
{%- endblock %}
