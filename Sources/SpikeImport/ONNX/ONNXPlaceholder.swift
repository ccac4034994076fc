// placeholder: the ONNX importer lives here
