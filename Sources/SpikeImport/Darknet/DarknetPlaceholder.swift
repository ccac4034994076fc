// placeholder: the Darknet importer lives here
