// Door check-in: where the browser has a camera and the BarcodeDetector API (Chromium on Android,
// ChromeOS, macOS), "Scan with the camera" reads a ticket's QR into the code field and submits it.
// Elsewhere the button stays hidden: a USB/Bluetooth scanner or the keyboard types into the field.
(function () {
  "use strict";
  var button = document.getElementById("camera-scan");
  var video = document.getElementById("camera-view");
  var field = document.getElementById("ticket-code");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var look = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stream.getTracks().forEach(function (track) { track.stop(); });
            field.value = codes[0].rawValue;
            field.form.submit();
          } else {
            window.requestAnimationFrame(look);
          }
        }, function () { window.requestAnimationFrame(look); });
      };
      look();
    }, function () { button.hidden = true; });
  });
})();
