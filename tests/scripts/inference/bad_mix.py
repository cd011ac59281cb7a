def model_fn(model_dir):
    return None


def transform_fn(model, body, content_type, accept):
    return body


def input_fn(body, content_type):
    return body
