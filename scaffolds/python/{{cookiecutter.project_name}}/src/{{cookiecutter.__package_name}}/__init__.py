"""{{ cookiecutter.project_name }}: an HTTP service (FastAPI on uvicorn).

Kept free of imports: ``python -m {{ cookiecutter.__package_name }}.healthcheck`` imports this
package first and must stay fast.
"""

DIST_NAME = "{{ cookiecutter.__dist_name }}"
