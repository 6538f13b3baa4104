module {{ cookiecutter.module_path }}

go {{ cookiecutter.version }}
