{% extends "docker-bake.hcl.jinja" %}
{# The body is shared by the three scaffolds: templates/docker-bake.hcl.jinja. #}
{% block multi_platform_note -%}
# Both platforms. Python is not cross-compiled: the arm64 half runs its build steps under QEMU
# emulation (or on an arm64 BuildKit node: `docker buildx create --append`), as the wheels must be
# the target's. A multi-platform image cannot be loaded into the local image store: push it
# (`--push`) or export it (`--set *.output=type=oci,dest=img.tar`).
{%- endblock %}
