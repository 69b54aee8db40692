import pytest

# the shared helpers assert too: their failures are explained like the tests' own
pytest.register_assert_rewrite("tests.helpers")
