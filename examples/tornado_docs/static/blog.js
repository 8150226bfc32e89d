document.title = document.title + " *";
