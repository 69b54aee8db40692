"""Code the test modules share: test data, HTTP and browser steps, drop, order and auction set-up,
the backends the suite runs on. Test modules import from here, never from each other."""
